import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { startGate, type TestGate } from '../helpers/gate.js';
import { steadyLoad, timed } from './pool-fixtures.js';
import { hasPython3, waitForLog, WSGI_TESTDATA } from './wsgi-gate.js';

const FILE = join(WSGI_TESTDATA, 'site.gate');

/** streamBody is what the test app's /stream answers: `chunks` pieces of `size` bytes, each starting with its number. */
function streamBody(chunks: number, size: number): string {
  let out = '';
  for (let i = 0; i < chunks; i++) out += String(i).padStart(8, '0') + 'x'.repeat(size - 8);
  return out;
}

describe('wsgi links: many requests over a few connections', function () {
  this.timeout(30_000);
  let gate: TestGate | undefined;
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed: these tests run real Python workers */
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });
  const start = async (opts: string): Promise<TestGate> =>
    (gate = await startGate(`server { listen 127.0.0.1:0; wsgi apps:application { ${opts} } }`, { file: FILE }));

  it('serves many concurrent streaming responses over the links, each with its own bytes', async () => {
    const g = await start('workers 2; threads 3');
    const sizes = Array.from({ length: 40 }, (_, i) => [1 + (i % 7) * 5, 100 + 997 * (i % 11)] as const);
    const all = await Promise.all(sizes.map(([chunks, size]) => timed(g.url(`/stream?chunks=${chunks}&size=${size}`))));
    all.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.ok(r.body === streamBody(...sizes[i]), `response ${i} (${sizes[i].join(' x ')}) has its own bytes`);
    });
  });

  it('sends a response in one piece with its head, yet streams a generator that pauses between its pieces', async () => {
    const g = await start('workers 1');
    const t0 = Date.now();
    const res = await fetch(g.url('/drip?1.5'));
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const at = Date.now() - t0;
    assert.equal(first, 'first\n');
    assert.ok(at < 1000, `the first piece came after ${at}ms, before the second was made`);
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    assert.equal(rest, 'second\n');
  });

  it('does not hold fast requests behind a slow one of the same Node worker (sync workers)', async () => {
    const g = await start('workers 2');
    const slow = timed(g.url('/slow?3'));
    await waitForLog(g.logs, /sleeping in pid \d+/);
    const t0 = Date.now();
    const fast = await Promise.all(Array.from({ length: 12 }, () => timed(g.url('/pid'))));
    const s = await slow;
    assert.deepEqual(
      fast.map((r) => r.status),
      fast.map(() => 200),
    );
    assert.ok(
      fast.every((r) => r.at < s.at),
      'every fast request ended before the slow one',
    );
    assert.ok(Math.max(...fast.map((r) => r.at)) - t0 < 2000, `the fast requests took ${Math.max(...fast.map((r) => r.at)) - t0}ms`);
    assert.equal(new Set(fast.map((r) => r.body)).size, 1, 'they were all served by the other worker');
  });

  it('pauses the stream of a client that does not read, and only that one', async () => {
    const g = await start('workers 1; threads 2');
    const closed = (): number => g.logs.filter((l) => /iterable closed/.test(l)).length;
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(g.url('/stream?chunks=5000&size=10000'), resolve).on('error', reject));
    res.pause(); // 50 MB that nobody reads for now
    for (let i = 0; i < 5; i++) assert.equal((await timed(g.url('/pid'))).status, 200);
    assert.equal(closed(), 0, 'the application is held at its write, not run to the end into memory');
    let got = 0;
    res.on('data', (c: Buffer) => {
      got += c.length;
    });
    res.resume();
    await new Promise((r) => res.on('end', r));
    assert.equal(got, 50_000_000);
    await waitForLog(g.logs, /iterable closed/);
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

  it('answers 502 for the streams of a killed worker and serves the rest', async () => {
    const g = await start('workers 2');
    const slow = fetch(g.url('/slow?5'));
    const line = await waitForLog(g.logs, /sleeping in pid \d+/);
    const victim = Number(/sleeping in pid (\d+)/.exec(line)![1]);
    const during = await Promise.all(Array.from({ length: 6 }, () => timed(g.url('/pid'))));
    assert.deepEqual(
      during.map((r) => [r.status, r.body !== String(victim)]),
      during.map(() => [200, true]),
    );
    process.kill(victim, 'SIGKILL');
    assert.equal((await slow).status, 502);
    const after = await Promise.all(Array.from({ length: 6 }, () => timed(g.url('/pid'))));
    assert.deepEqual(
      after.map((r) => r.status),
      after.map(() => 200),
    );
  });
});
