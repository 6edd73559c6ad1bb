import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { ASGI_FILE, hasVenv, openWs, VENV_PYTHON, waitForLog } from './asgi-gate.js';

const NO_VENV = `${VENV_PYTHON} is missing: create it with \`python3 -m venv .venv && .venv/bin/pip install starlette fastapi uvicorn django\` (.ci/run does)`;
const skipWithoutVenv = function (this: Mocha.Context): void {
  if (!hasVenv()) {
    console.log(`      skipped: ${NO_VENV}`);
    this.skip();
  }
};

describe('asgi with Starlette', function () {
  this.timeout(30_000);
  let gate: TestGate | undefined;
  before(async function () {
    skipWithoutVenv.call(this);
    gate = await startGate(`server { listen 127.0.0.1:0; route /star/ { asgi star:app { python ${VENV_PYTHON}; workers 2 } } }`, { file: ASGI_FILE });
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('builds URLs under root_path and sees lifespan state in request.state', async () => {
    const g = gate!;
    assert.deepEqual(await (await fetch(g.url('/star/'))).json(), { url: `http://127.0.0.1:${g.port}/star/`, root_path: '/star', db: 'connected' });
  });

  it('streams an upload in and a response out, and logs an exception as a 500', async () => {
    const g = gate!;
    const up = await fetch(g.url('/star/upload'), { method: 'POST', body: Buffer.alloc(300_000, 1) });
    assert.equal(await up.text(), 'got 300000 bytes');
    assert.equal(await (await fetch(g.url('/star/stream'))).text(), 'part 0\npart 1\npart 2\n');
    assert.equal((await fetch(g.url('/star/boom'))).status, 500);
    await waitForLog(g.logs, /KeyError: 'starlette boom'/);
  });

  it('serves a WebSocket route', async () => {
    const c = await openWs(gate!.url('/star/ws').replace(/^http/, 'ws'));
    c.ws.send('shout');
    assert.equal(await c.next(), 'SHOUT');
    c.ws.close();
    assert.equal((await c.closed()).code, 1005);
  });
});

describe('asgi with FastAPI (samples/fastapi-app)', function () {
  this.timeout(30_000);
  let gate: TestGate | undefined;
  before(async function () {
    skipWithoutVenv.call(this);
    const file = repoPath('samples', 'fastapi-app', 'gatekit.gate');
    gate = await startGate(readFileSync(file, 'utf8'), { file, env: { PORT: '0', PYTHON: VENV_PYTHON } });
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('answers JSON routes under /api/, validates bodies, and keeps lifespan state', async () => {
    const g = gate!;
    assert.deepEqual(await (await fetch(g.url('/api/items/7?q=x'))).json(), { item_id: 7, q: 'x' });
    assert.equal((await fetch(g.url('/api/items/seven'))).status, 422);
    const post = await fetch(g.url('/api/notes'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi' }) });
    assert.equal(post.status, 201);
    assert.equal(((await post.json()) as { text: string }).text, 'hi');
    assert.equal((await fetch(g.url('/api/openapi.json'))).status, 200);
    const docs = await (await fetch(g.url('/api/docs'))).text();
    assert.match(docs, /\/api\/openapi\.json/, 'the docs page points at the spec under root_path');
  });

  it('serves its WebSocket endpoint', async () => {
    const c = await openWs(gate!.url('/api/ws').replace(/^http/, 'ws'));
    c.ws.send('hello');
    assert.deepEqual(JSON.parse((await c.next()) as string), { echo: 'hello', length: 5 });
    c.ws.close(1000);
    assert.equal((await c.closed()).code, 1000);
  });
});

describe('asgi with Django (mysite/asgi.py)', function () {
  this.timeout(30_000);
  let gate: TestGate | undefined;
  before(async function () {
    skipWithoutVenv.call(this);
    const dir = repoPath('samples', 'django-site');
    gate = await startGate(
      `server { listen 127.0.0.1:0
        route /static/ { static ./static }
        route / { asgi mysite.asgi:application { python ${VENV_PYTHON}; chdir ${dir}; workers 2 } } }`,
      { file: repoPath('samples', 'django-site', 'asgi.gate') },
    );
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  it("renders the guestbook with a CSRF form through Django's ASGI handler", async () => {
    const g = gate!;
    const page = await fetch(g.url('/'));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /name="csrfmiddlewaretoken"/);
    const refused = await fetch(g.url('/'), { method: 'POST', body: new URLSearchParams({ name: 'a', message: 'b' }), redirect: 'manual' });
    assert.equal(refused.status, 403);
  });
});
