import assert from 'node:assert/strict';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';

describe('respond', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('answers 200 with the body and a text content type by default', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; respond "hi there" }');
    const res = await fetch(gate.url('/anything'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await res.text(), 'hi there');
  });

  it('takes a status alone, a body alone, or both', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route = /a { respond 404 }
      route = /b { respond "body only" }
      route = /c { respond 201 "made" }
      route = /d { respond 204 }
    }`);
    const a = await fetch(gate.url('/a'));
    assert.deepEqual([a.status, await a.text()], [404, '']);
    const b = await fetch(gate.url('/b'));
    assert.deepEqual([b.status, await b.text()], [200, 'body only']);
    const c = await fetch(gate.url('/c'));
    assert.deepEqual([c.status, await c.text()], [201, 'made']);
    const d = await fetch(gate.url('/d'));
    assert.deepEqual([d.status, d.headers.get('content-length')], [204, null]);
  });

  it('expands request variables in the body', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; respond "$method $path q=$query uri=$uri host=$host a=$arg_a ua=$http_x_test" }');
    const res = await fetch(gate.url('/x%20y?a=1&b=2'), { method: 'POST', headers: { 'x-test': 'T' } });
    assert.equal(await res.text(), 'POST /x y q=a=1&b=2 uri=/x%20y?a=1&b=2 host=127.0.0.1 a=1 ua=T');
  });

  it('sets the content type from its option and sends no body to HEAD', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; respond "{}" { content_type application/json } }');
    const res = await fetch(gate.url('/'), { method: 'HEAD' });
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('content-length'), '2');
    assert.equal(await res.text(), '');
  });

  it('refuses a status outside 200..599 at its position', async () => {
    const [d] = await checkGate('server { listen 80; respond 99 "x" }');
    assert.deepEqual([d.code, d.span.line, d.span.col], ['GK_DSL_BAD_ARG', 1, 29]);
  });
});
