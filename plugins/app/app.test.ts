import assert from 'node:assert/strict';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';
import { repoPath } from '../../test/helpers/paths.js';
import { rawRequest } from '../../test/helpers/raw-http.js';

const FILE = repoPath('plugins', 'app', 'testdata', 't.gate');
const serve = (module: string, options = '', route = '/'): Promise<TestGate> =>
  startGate(`server { listen 127.0.0.1:0; route ${route} { app ${module} { ${options} } } }`, { file: FILE });

describe('app', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('serves a plain (req, res) listener, loaded once per worker, with the request body', async () => {
    gate = await serve('./plain.mjs');
    const a = await fetch(gate.url('/a/b?c=1'), { method: 'POST', body: 'payload' });
    assert.equal(a.headers.get('x-app'), 'plain');
    const first = (await a.json()) as { method: string; url: string; body: string; served: number };
    assert.deepEqual([first.method, first.url, first.body], ['POST', '/a/b?c=1', 'payload']);
    const second = (await (await fetch(gate.url('/'))).json()) as { served: number };
    assert.equal(second.served, first.served + 1, 'the same module instance serves every request');
  });

  it('shares one instance among the routes that serve the same module, and loads a fresh one for a new gate', async () => {
    const text = 'server { listen 127.0.0.1:0; route /a/ { app ./plain.mjs }; route /b/ { app ./plain.mjs { strip_mount on } } }';
    gate = await startGate(text, { file: FILE });
    const a = (await (await fetch(gate.url('/a/'))).json()) as { served: number };
    const b = (await (await fetch(gate.url('/b/'))).json()) as { served: number; url: string };
    assert.deepEqual([a.served, b.served, b.url], [1, 2, '/']);
    await gate.close();
    gate = await startGate(text, { file: FILE });
    assert.equal(((await (await fetch(gate.url('/a/'))).json()) as { served: number }).served, 1);
  });

  it('gives the listener the path inside the mount point with strip_mount on', async () => {
    gate = await serve('./plain.mjs', 'strip_mount on', '/api/');
    const inner = (await (await fetch(gate.url('/api/users%20x?q=2'))).json()) as { url: string };
    assert.equal(inner.url, '/users%20x?q=2');
  });

  it('reads the body from ctx.body, so a limit middleware still bounds it', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; limit { body 4B }; app ./plain.mjs }', { file: FILE });
    const small = (await (await fetch(gate.url('/'), { method: 'POST', body: 'abc' })).json()) as { body: string };
    assert.equal(small.body, 'abc');
    const big = await rawRequest(gate.port, 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n');
    assert.equal(big.status, 413);
    assert.doesNotMatch(big.text, /abcdef/);
  });

  it('serves a fetch-style handler: Request in, streamed Response out', async () => {
    gate = await serve('./fetch.mjs');
    const res = await fetch(gate.url('/x?y=1'), { method: 'PUT', body: 'sent', headers: { 'x-custom': 'c' } });
    assert.deepEqual(await res.json(), { method: 'PUT', url: `http://127.0.0.1:${gate.port}/x?y=1`, body: 'sent', custom: 'c' });
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    const stream = await fetch(gate.url('/stream'));
    assert.equal(stream.status, 201);
    assert.equal(await stream.text(), 'one two three');
  });

  it('serves an http.Server export from CommonJS, and a package folder exporting { fetch }', async () => {
    gate = await serve('./server.cjs');
    assert.equal(await (await fetch(gate.url('/s'))).text(), 'server /s');
    await gate.close();
    gate = await serve('./pkg');
    assert.equal(await (await fetch(gate.url('/'))).text(), 'from a package folder');
  });

  it('answers 500 when the app fails before answering, cuts the response after, and keeps serving', async () => {
    gate = await serve('./fails.mjs');
    const early = await fetch(gate.url('/early'));
    assert.equal(early.status, 500);
    await early.text();
    assert.ok(
      gate.logs.some((l) => /failed before answering/.test(l)),
      gate.logs.join('\n'),
    );
    const late = await rawRequest(gate.port, 'GET /late HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(late.status, 200);
    assert.equal(late.closed, true);
    assert.ok(gate.logs.some((l) => /failed after answering/.test(l)));
  });

  it('reports a missing module at check, and a module that fails to import at start', async () => {
    const [d] = await checkGate('server { listen 80; app ./nope.mjs }', { file: FILE });
    assert.deepEqual([d.code, d.span.col], ['GK_APP_MODULE', 25]);
    await assert.rejects(serve('./broken.mjs'), /could not be loaded: this module cannot be loaded/);
    await assert.rejects(serve('./plain.mjs', 'export nothing_here'), /no export 'nothing_here'/);
  });
});
