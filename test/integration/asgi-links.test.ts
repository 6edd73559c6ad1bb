import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { startGate, type TestGate } from '../helpers/gate.js';
import { steadyLoad, timed } from './pool-fixtures.js';
import { ASGI_FILE, hasPython3, openWs, waitForLog } from './asgi-gate.js';

describe('asgi links: many requests and WebSockets over a few connections', function () {
  this.timeout(30_000);
  let gate: TestGate | undefined;
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed: the asgi plugin runs real Python processes */
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });
  const start = async (opts: string): Promise<TestGate> =>
    (gate = await startGate(`server { listen 127.0.0.1:0; asgi apps:application { ${opts} } }`, { file: ASGI_FILE }));

  it('serves many concurrent streaming responses over one link, interleaved, each with its own bytes', async () => {
    const g = await start('workers 1');
    const counts = Array.from({ length: 40 }, (_, i) => 1 + (i % 9));
    const all = await Promise.all(counts.map((n) => timed(g.url(`/stream?${n}`))));
    all.forEach((r, i) => assert.equal(r.body, Array.from({ length: counts[i] }, (_, k) => `chunk ${k}\n`).join(''), `response ${i}`));
  });

  it('pauses the stream of a client that does not read, and only that one', async () => {
    const g = await start('workers 1');
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(g.url('/big?400'), resolve).on('error', reject));
    res.pause(); // 25 MiB that nobody reads for now
    for (let i = 0; i < 5; i++) assert.equal((await timed(g.url('/pid'))).status, 200);
    assert.ok(!g.logs.some((l) => /big sent/.test(l)), 'the application waits at its send(), the response is not piled up in memory');
    let got = 0;
    res.on('data', (c: Buffer) => {
      got += c.length;
    });
    res.resume();
    await new Promise((r) => res.on('end', r));
    assert.equal(got, 400 * 65536);
    await waitForLog(g.logs, /big sent 400/);
  });

  it('recycles workers on max_requests with no request lost (GOAWAY)', async () => {
    const { statuses, pids } = await steadyLoad(await start('workers 2; max_requests 5'));
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'every request was answered',
    );
    assert.ok(pids.size >= 6, `several generations of workers served (${pids.size} pids)`);
  });

  it('sends the requests a worker with a blocked event loop never read to another worker', async () => {
    const g = await start('workers 2; timeout 1s');
    const blocked = fetch(g.url('/block?8'));
    const line = await waitForLog(g.logs, /blocking the event loop for 8 s in pid (\d+)/);
    const victim = /in pid (\d+)/.exec(line)![1];
    const others = await Promise.all(Array.from({ length: 10 }, () => timed(g.url('/pid'))));
    assert.deepEqual(
      others.map((r) => [r.status, r.body === victim]),
      others.map(() => [200, false]),
    );
    assert.ok([502, 504].includes((await blocked).status));
  });

  it('holds a WebSocket application at its send() while the client does not read, serving others meanwhile', async () => {
    const g = await start('workers 1');
    const c = await openWs(g.url('/ws').replace(/^http/, 'ws'));
    c.ws.pause(); // 200 messages of 64 KiB that nobody reads for now
    c.ws.send('flood 200');
    for (let i = 0; i < 5; i++) assert.equal((await timed(g.url('/pid'))).status, 200);
    assert.ok(!g.logs.some((l) => /flood sent/.test(l)), 'the application waits at its send()');
    c.ws.resume();
    for (let i = 0; i < 200; i++) {
      const m = (await c.next()) as Buffer;
      assert.deepEqual([m.length, m[0]], [65536, i % 256]);
    }
    await waitForLog(g.logs, /flood sent 200/);
    c.ws.close();
    await c.closed();
  });
});
