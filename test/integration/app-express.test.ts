import assert from 'node:assert/strict';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';

const FILE = repoPath('plugins', 'app', 'testdata', 't.gate');

describe('app: a real Express application', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('serves its routes, JSON bodies, error handler and 404 unchanged', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; app ./express-app.mjs }', { file: FILE });
    const hello = await fetch(gate.url('/hello'));
    assert.equal(hello.status, 200);
    assert.match(hello.headers.get('x-powered-by') ?? '', /Express/);
    assert.equal(await hello.text(), 'hello from express at /hello');
    const made = await fetch(gate.url('/items'), { method: 'POST', body: JSON.stringify({ n: 1 }), headers: { 'content-type': 'application/json' } });
    assert.equal(made.status, 201);
    assert.deepEqual(await made.json(), { got: { n: 1 }, ip: '127.0.0.1' });
    const boom = await fetch(gate.url('/boom'));
    assert.equal(boom.status, 500);
    assert.deepEqual(await boom.json(), { error: 'express route failed' });
    const missing = await fetch(gate.url('/nowhere'));
    assert.equal(missing.status, 404);
    await missing.text();
  });

  it('runs under a mount point with strip_mount, seeing the full URL as originalUrl', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; route /api/ { app ./express-app.mjs { strip_mount on } } }', { file: FILE });
    const res = await fetch(gate.url('/api/hello'));
    assert.equal(await res.text(), 'hello from express at /hello');
  });
});
