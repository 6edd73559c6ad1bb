import assert from 'node:assert/strict';
import type { TestGate } from '../helpers/gate.js';
import { startGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { hasPython3, hasVenv, VENV_PYTHON } from './wsgi-gate.js';

const TESTDATA = repoPath('plugins', 'cache', 'testdata');
const FILE = `${TESTDATA}/t.gate`;

/** body fetches a path and returns X-Cache and the body. */
async function body(gate: TestGate, path: string, headers: Record<string, string> = {}): Promise<[string | null, string]> {
  const r = await fetch(gate.url(path), { headers });
  return [r.headers.get('x-cache'), await r.text()];
}

describe('cache over a Django view (wsgi)', function () {
  this.timeout(30_000);
  let gate: TestGate | undefined;
  before(async function () {
    if (!hasVenv()) {
      console.log(`      skipped: ${VENV_PYTHON} is missing (.ci/run makes it)`);
      this.skip();
    }
    gate = await startGate(`server { listen 127.0.0.1:0; cache { header on }; wsgi django_views:application { python ${VENV_PYTHON}; workers 1 } }`, {
      file: FILE,
    });
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('answers fresh hits without Django, one variant per Accept-Language (cache_control, vary_on_headers)', async () => {
    const fr = await body(gate!, '/page', { 'accept-language': 'fr' });
    const de = await body(gate!, '/page', { 'accept-language': 'de' });
    assert.equal(fr[0], 'MISS');
    assert.match(fr[1], /^call \d+ lang fr$/);
    assert.match(de[1], /^call \d+ lang de$/);
    assert.deepEqual(await body(gate!, '/page', { 'accept-language': 'fr' }), ['HIT', fr[1]]);
    assert.deepEqual(await body(gate!, '/page', { 'accept-language': 'de' }), ['HIT', de[1]]);
  });

  it("never gives one client a private answer or another's cookie", async () => {
    const a = await body(gate!, '/mine?user=a');
    assert.notEqual((await body(gate!, '/mine?user=a'))[1], a[1]);
    const r1 = await fetch(gate!.url('/login?user=a'));
    await r1.text();
    const r2 = await fetch(gate!.url('/login?user=a'));
    assert.equal(r2.headers.get('x-cache'), 'MISS');
    assert.match(r2.headers.get('set-cookie') ?? '', /^sessionid=sa;/);
    await r2.text();
  });
});

describe('cache over a FastAPI endpoint (asgi)', function () {
  this.timeout(30_000);
  let gate: TestGate | undefined;
  before(async function () {
    if (!hasVenv()) {
      console.log(`      skipped: ${VENV_PYTHON} is missing (.ci/run makes it)`);
      this.skip();
    }
    gate = await startGate(`server { listen 127.0.0.1:0; cache { header on }; asgi fastapi_app:app { python ${VENV_PYTHON}; workers 1 } }`, { file: FILE });
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('answers fresh hits without the app', async () => {
    const first = await body(gate!, '/items/7');
    assert.equal(first[0], 'MISS');
    assert.deepEqual(JSON.parse(first[1]).item, 7);
    for (let i = 0; i < 3; i++) assert.deepEqual(await body(gate!, '/items/7'), ['HIT', first[1]]);
    assert.notEqual((await body(gate!, '/items/8'))[1], first[1]);
  });
});

describe('cache over cgi and app', function () {
  this.timeout(20_000);
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it("answers a CGI script's output from the cache", async function () {
    if (!hasPython3()) this.skip(); // the cgi spawner helper
    gate = await startGate('server { listen 127.0.0.1:0; cache { header on }; route /cgi-bin/ { cgi ./cgi-bin } }', { file: FILE });
    const first = await body(gate, '/cgi-bin/pid.sh');
    assert.match(first[1], /^pid \d+\n$/);
    assert.deepEqual(await body(gate, '/cgi-bin/pid.sh'), ['HIT', first[1]]);
  });

  it('answers a Node app from the cache, and compress encodes hits per client', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; compress { min_size 1B }; cache { header on }; app ./counter.mjs }', { file: FILE });
    assert.deepEqual(await body(gate, '/', { 'accept-encoding': 'identity' }), ['MISS', 'call 1']);
    const gz = await fetch(gate.url('/'), { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.equal(gz.headers.get('vary'), 'Accept-Encoding');
    assert.deepEqual([gz.headers.get('x-cache'), await gz.text()], ['HIT', 'call 1']);
    assert.deepEqual(await body(gate, '/', { 'accept-encoding': 'identity' }), ['HIT', 'call 1']);
  });
});
