import assert from 'node:assert/strict';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawGet } from '../helpers/raw-http.js';

describe('routing', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  const body = async (path: string, host?: string): Promise<string> => {
    if (host) return (await rawGet(gate!.port, path, host)).text.split('\r\n\r\n')[1];
    return (await fetch(gate!.url(path))).text();
  };

  it('prefers exact over regex over the longest prefix', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route / { respond "root" }
      route /api/ { respond "api" }
      route /api/v2/ { respond "api-v2" }
      route ~ ^/api/v2/special { respond "regex" }
      route = /api/v2/special { respond "exact" }
    }`);
    assert.equal(await body('/api/v2/special'), 'exact');
    assert.equal(await body('/api/v2/special/more'), 'regex');
    assert.equal(await body('/api/v2/x'), 'api-v2');
    assert.equal(await body('/api/v1'), 'api');
    assert.equal(await body('/other'), 'root');
  });

  it('takes the first matching regex in file order and exposes captures as $1..$9', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route ~ ^/u/([a-z]+)/([0-9]+)$ { respond "user=$1 id=$2" }
      route ~ ^/u/ { respond "second" }
    }`);
    assert.equal(await body('/u/ann/42'), 'user=ann id=42');
    assert.equal(await body('/u/ann'), 'second');
  });

  it('answers 404 when no route matches', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; route /only/ { respond "x" } }');
    const res = await fetch(gate.url('/elsewhere'));
    assert.equal(res.status, 404);
  });

  it('answers 301 to the slash form of a prefix route asked without its slash, unless an exact or regex route takes it', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route / { respond "root" }
      route /adminer/ { respond "adminer $path" }
      route = /exact { respond "exact" }
      route /exact/ { respond "exact prefix" }
      route ~ ^/rx$ { respond "regex" }
      route /rx/ { respond "rx prefix" }
      route "/a b/" { respond "spaced" }
    }`);
    const moved = await rawGet(gate.port, '/adminer?x=1&y=%2F');
    assert.equal(moved.status, 301);
    assert.match(moved.text, /\r\nlocation: \/adminer\/\?x=1&y=%2F\r\n/i);
    assert.match((await rawGet(gate.port, '/adm%69ner')).text, /^HTTP\/1\.1 301 [^]*\r\nlocation: \/adminer\/\r\n/i);
    assert.match((await rawGet(gate.port, '/a%20b')).text, /\r\nlocation: \/a%20b\/\r\n/i);
    assert.equal(await body('/adminer/'), 'adminer /adminer/');
    assert.equal(await body('/adminerx'), 'root');
    assert.equal(await body('/exact'), 'exact');
    assert.equal(await body('/rx'), 'regex');
    const followed = await fetch(gate.url('/adminer'));
    assert.deepEqual([followed.url, await followed.text()], [gate.url('/adminer/'), 'adminer /adminer/']);
  });

  it('nests routes: inner matchers are absolute and inherit the outer middleware', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /app/ {
        route = /app/health { respond "health" }
        route ~ ^/app/item/(\\d+)$ { respond "item $1" }
        route /app/admin/ { respond "admin" }
        respond "app"
      }
      route ~ ^/item/ { respond "top-level regex" }
    }`);
    assert.equal(await body('/app/health'), 'health');
    assert.equal(await body('/app/item/7'), 'item 7');
    assert.equal(await body('/app/admin/x'), 'admin');
    assert.equal(await body('/app/other'), 'app');
    assert.equal(await body('/item/7'), 'top-level regex');
  });

  it('matches on the decoded, normalised path', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /admin/ { respond "admin" }
      route / { respond "root $path" }
    }`);
    assert.equal(await body('/%61dmin/x'), 'admin');
    assert.equal((await rawGet(gate.port, '/public/../admin/x')).text.split('\r\n\r\n')[1], 'admin');
    assert.equal((await rawGet(gate.port, '//admin//x')).text.split('\r\n\r\n')[1], 'admin');
  });

  it('chooses the server by Host: exact name, then wildcard, then the default server', async () => {
    gate = await startGate(`
      server a.test { listen 127.0.0.1:0; respond "a" }
      server *.b.test { listen 127.0.0.1:0; respond "wild-b" }
      server { listen 127.0.0.1:0; respond "default" }
    `);
    assert.equal(await body('/', 'a.test'), 'a');
    assert.equal(await body('/', 'A.TEST:8080'), 'a');
    assert.equal(await body('/', 'x.b.test'), 'wild-b');
    assert.equal(await body('/', 'b.test'), 'default');
    assert.equal(await body('/', 'unknown.test'), 'default');
  });

  it('falls back to the first server on a listener when none is a default', async () => {
    gate = await startGate(`
      server first.test { listen 127.0.0.1:0; respond "first" }
      server second.test { listen 127.0.0.1:0; respond "second" }
    `);
    assert.equal(await body('/', 'nobody.test'), 'first');
    assert.equal(await body('/', 'second.test'), 'second');
  });
});
