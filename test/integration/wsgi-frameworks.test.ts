import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import type { TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { hasVenv, startWsgiGate, VENV_PYTHON, waitForLog } from './wsgi-gate.js';

const DJANGO = repoPath('samples', 'django-site');
const NO_VENV = `${VENV_PYTHON} is missing: create it with \`python3 -m venv .venv && .venv/bin/pip install django flask gunicorn\` (.ci/run does)`;

/** cookieOf picks one cookie's value out of a response's Set-Cookie headers. */
function cookieOf(res: Response, name: string): string | undefined {
  for (const c of res.headers.getSetCookie()) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(c);
    if (m) return m[1];
  }
  return undefined;
}

describe('wsgi with Django', function () {
  this.timeout(30_000);
  let gate: TestGate | undefined;
  before(async function () {
    if (!hasVenv()) {
      console.log(`      skipped: ${NO_VENV}`);
      this.skip();
    }
    const file = repoPath('samples', 'django-site', 'gatekit.gate');
    gate = await startWsgiGate(readFileSync(file, 'utf8'), { file, env: { PORT: '0', PYTHON: VENV_PYTHON } });
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('renders a form with a CSRF token, refuses a POST without it, and redirects after a valid one', async () => {
    const g = gate!;
    const page = await fetch(g.url('/'));
    assert.equal(page.status, 200);
    const html = await page.text();
    const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html)?.[1];
    const cookie = cookieOf(page, 'csrftoken');
    assert.ok(token && cookie, 'the form carries a CSRF token and its cookie is set');
    assert.match(html, /href="\/static\/site\.css"/);

    const form = (extra: Record<string, string>): URLSearchParams => new URLSearchParams({ name: 'Ada', message: 'hello from gatekit', ...extra });
    const refused = await fetch(g.url('/'), { method: 'POST', body: form({}), redirect: 'manual' });
    assert.equal(refused.status, 403);

    const ok = await fetch(g.url('/'), {
      method: 'POST',
      body: form({ csrfmiddlewaretoken: token! }),
      redirect: 'manual',
      headers: { cookie: `csrftoken=${cookie}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get('location'), '/thanks/?name=Ada');
    const thanks = await fetch(g.url(ok.headers.get('location')!));
    assert.match(await thanks.text(), /Thanks for signing, Ada!/);
  });

  it('answers a permanent redirect', async () => {
    const res = await fetch(gate!.url('/home/'), { redirect: 'manual' });
    assert.deepEqual([res.status, res.headers.get('location')], [301, '/']);
  });

  it('serves /static/ with gatekit, not Django', async () => {
    const res = await fetch(gate!.url('/static/site.css'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/css/);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=3600');
    assert.ok(res.headers.get('etag'), 'static sends validators');
    assert.match(await res.text(), /font-family/);
  });

  it('answers 400 to an unknown Host, with the complaint of Django in the error log', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      get({ host: '127.0.0.1', port: gate!.port, path: '/', headers: { host: 'evil.example' }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    assert.equal(status, 400);
    await waitForLog(gate!.logs, /Invalid HTTP_HOST header: 'evil.example'/);
  });
});

describe('wsgi with Django mounted under a prefix', function () {
  this.timeout(30_000);
  let gate: TestGate | undefined;
  before(function () {
    if (!hasVenv()) {
      console.log(`      skipped: ${NO_VENV}`);
      this.skip();
    }
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('gives Django the route as SCRIPT_NAME, so reverse() and static URLs include it', async () => {
    gate = await startWsgiGate(
      `server { listen 127.0.0.1:0
      route /site/ { wsgi mysite.wsgi:application { python ${VENV_PYTHON}; chdir ${DJANGO} } }
    }`,
      { file: repoPath('t.gate') },
    );
    const about = (await (await fetch(gate.url('/site/about.json'))).json()) as Record<string, string>;
    assert.deepEqual(about, {
      script_name: '/site',
      path: '/site/about.json',
      path_info: '/about.json',
      scheme: 'http',
      host: `127.0.0.1:${gate.port}`,
      index_url: '/site/',
    });
    assert.match(await (await fetch(gate.url('/site/'))).text(), /href="\/site\/static\/site\.css"/);
  });
});

describe('wsgi with Flask', function () {
  this.timeout(30_000);
  let gate: TestGate | undefined;
  before(async function () {
    if (!hasVenv()) {
      console.log(`      skipped: ${NO_VENV}`);
      this.skip();
    }
    const file = repoPath('samples', 'flask-app', 'gatekit.gate');
    gate = await startWsgiGate(readFileSync(file, 'utf8'), { file, env: { PORT: '0', PYTHON: VENV_PYTHON } });
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('routes, builds URLs under the mount point, and redirects', async () => {
    const g = gate!;
    const root = (await (await fetch(g.url('/info'))).json()) as Record<string, string>;
    assert.deepEqual([root.script_root, root.path, root.info_url, root.url], ['', '/info', '/info', `http://127.0.0.1:${g.port}/info`]);
    const api = (await (await fetch(g.url('/api/info'))).json()) as Record<string, string>;
    assert.deepEqual([api.script_root, api.path, api.info_url], ['/api', '/info', '/api/info']);
    const go = await fetch(g.url('/api/go'), { redirect: 'manual' });
    assert.deepEqual([go.status, go.headers.get('location')], [302, '/api/info']);
  });

  it('reads JSON, forms and multipart uploads', async () => {
    const g = gate!;
    const json = await fetch(g.url('/echo'), { method: 'POST', body: JSON.stringify({ a: [1, 2] }), headers: { 'content-type': 'application/json' } });
    assert.deepEqual(await json.json(), { got: { a: [1, 2] } });
    const fd = new FormData();
    fd.set('title', 'x');
    fd.set('file', new Blob([Buffer.alloc(3 << 20, 7)]), 'big.bin');
    const up = await fetch(g.url('/echo'), { method: 'POST', body: fd });
    assert.deepEqual(await up.json(), { form: { title: 'x' }, files: { file: 3 << 20 } });
  });

  it('streams a generator response and turns an exception into a logged 500', async () => {
    const g = gate!;
    const res = await fetch(g.url('/count/1000'));
    const text = await res.text();
    assert.equal(text.split('\n').length, 1001);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const fail = await fetch(g.url('/fail'));
    assert.equal(fail.status, 500);
    await waitForLog(g.logs, /RuntimeError: flask view failed/);
  });
});
