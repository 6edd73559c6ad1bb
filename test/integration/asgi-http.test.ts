import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startGate, type TestGate } from '../helpers/gate.js';
import { ASGI_FILE, hasPython3, waitForLog } from './asgi-gate.js';

/** post sends a body in chunks (chunked encoding) and reads the answer. */
function post(url: string, chunks: Buffer[]): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('asgi over HTTP', function () {
  this.timeout(20_000);
  let gate: TestGate | undefined;
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed: the asgi plugin runs real Python processes */
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });
  const start = async (): Promise<TestGate> =>
    (gate ??= await startGate(
      `server { listen 127.0.0.1:0
      route /mnt/ { asgi apps:application { workers 2 } }
      route / { asgi apps:application { timeout 1s } }
    }`,
      { file: ASGI_FILE },
    ));

  it('gives the application a complete HTTP scope, root_path being the mount point', async () => {
    const g = await start();
    const s = (await (await fetch(g.url('/mnt/sc%C3%A9pe/../scope?x=1&y=%20'), { headers: { 'x-custom': 'v' } })).json()) as Record<string, unknown>;
    assert.equal(s.type, 'http');
    assert.deepEqual(s.asgi, { version: '3.0', spec_version: '2.3' });
    assert.equal(s.http_version, '1.1');
    assert.equal(s.method, 'GET');
    assert.equal(s.scheme, 'http');
    assert.equal(s.path, '/mnt/scope');
    assert.equal(s.root_path, '/mnt');
    assert.equal(s.query_string, 'x=1&y=%20');
    assert.ok(
      (s.headers as string[][]).some(([n, v]) => n === 'x-custom' && v === 'v'),
      'headers are lowercased byte pairs',
    );
    assert.deepEqual((s.client as unknown[])[0], '127.0.0.1');
    assert.deepEqual(s.server, ['127.0.0.1', g.port]);
    assert.equal((s.state as Record<string, unknown>).greeting, 'hello from lifespan');
    const raw = (await (await fetch(g.url('/mnt/sc%6Fpe?q'))).json()) as Record<string, unknown>;
    assert.deepEqual([raw.path, raw.raw_path], ['/mnt/scope', '/mnt/sc%6Fpe']);
  });

  it('streams the request body as http.request chunks and the response with more_body', async () => {
    const g = await start();
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(32 * 1024, 97 + (i % 26)));
    const res = await post(g.url('/mnt/echo'), chunks);
    assert.equal(res.status, 200);
    assert.equal(res.body, Buffer.concat(chunks).toString());
    assert.ok(Number(res.headers['x-chunks']) > 1, 'the body came in several http.request messages');
    const stream = await fetch(g.url('/mnt/stream?5'));
    assert.equal(stream.headers.get('transfer-encoding'), 'chunked');
    assert.equal(await stream.text(), 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
    const empty = await fetch(g.url('/mnt/echo'), { method: 'POST' });
    assert.deepEqual([empty.status, empty.headers.get('x-chunks'), await empty.text()], [200, '1', '']);
  });

  it('passes status and repeated headers through', async () => {
    const g = await start();
    const res = await fetch(g.url('/mnt/headers'));
    assert.equal(res.status, 201);
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(res.headers.get('x-app'), 'yes');
  });

  it('refuses a header with a NUL (500) or that HTTP forbids (502), every time, with a log line', async () => {
    const g = await start();
    for (let i = 0; i < 2; i++) {
      assert.equal((await fetch(g.url('/mnt/bad-header?nul'))).status, 500);
      const name = await fetch(g.url('/mnt/bad-header?name'));
      assert.equal(name.status, 502);
      assert.doesNotMatch(await name.text(), /should not be seen/);
    }
    await waitForLog(g.logs, /ValueError: bad status or a NUL byte in a header/);
    await waitForLog(g.logs, /asgi application sent an invalid status or header/);
    const list = await fetch(g.url('/mnt/bad-header?list'));
    assert.deepEqual([list.status, list.headers.get('x-pair')], [200, 'as a list']);
  });

  it('sends http.disconnect when the client goes away', async () => {
    const g = await start();
    const ac = new AbortController();
    const res = await fetch(g.url('/mnt/forever?tag1'), { signal: ac.signal });
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'started\n');
    ac.abort();
    await waitForLog(g.logs, /saw http\.disconnect on tag1/);
  });

  it('turns an exception into a 500 with the traceback in the error log, and keeps serving', async () => {
    const g = await start();
    const res = await fetch(g.url('/mnt/boom'));
    assert.equal(res.status, 500);
    await waitForLog(g.logs, /error asgi application failed .*uri=\/mnt\/boom .*ValueError: boom on purpose/);
    const late = await fetch(g.url('/mnt/boom-late'));
    assert.equal(late.status, 200);
    await assert.rejects(late.text(), 'a response that started is cut short');
    await waitForLog(g.logs, /ValueError: late boom on purpose/);
    const silent = await fetch(g.url('/mnt/silent'));
    assert.equal(silent.status, 500);
    await waitForLog(g.logs, /returned without starting the response/);
    assert.equal(await (await fetch(g.url('/mnt/'))).text(), 'hello from asgi\n');
  });

  it('serves many requests at once in one Python process', async () => {
    const g = await start();
    const t0 = Date.now();
    const all = await Promise.all(Array.from({ length: 20 }, () => fetch(g.url('/slow?0.4')).then((r) => r.text())));
    assert.deepEqual(new Set(all), new Set(['slept']));
    assert.ok(Date.now() - t0 < 2500, `20 requests of 0.4s took ${Date.now() - t0}ms in one process`);
  });

  it('answers 504 when the response does not start within timeout, and the app sees http.disconnect', async () => {
    const g = await start();
    const res = await fetch(g.url('/slow?3'));
    assert.equal(res.status, 504);
    assert.equal((await fetch(g.url('/pid'))).status, 200, 'the worker keeps serving');
  });
});
