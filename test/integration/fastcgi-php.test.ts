import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'node:http';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawGet } from '../helpers/raw-http.js';
import { logValue, openRequest } from './cgi-fixtures.js';
import { countingRelay, FASTCGI_FILE, fastcgiConfig, fcgiRun, PHP_FPM, SKIP_REASON, startPhpFpm, type PhpFpm } from './fastcgi-fixtures.js';

type Env = Record<string, string | undefined> & { body: string; post: Record<string, string> };

describe('fastcgi: PHP-FPM', function () {
  let fpm: PhpFpm | undefined;
  let gate: TestGate | undefined;
  before(async function () {
    if (!PHP_FPM) {
      console.log(`      skipped: ${SKIP_REASON}`);
      this.skip();
    }
    fpm = await startPhpFpm(2);
  });
  after(async () => {
    await fpm?.stop();
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });
  const start = async (options = '', extra = ''): Promise<TestGate> =>
    (gate = await startGate(fastcgiConfig(`unix:${fpm!.socket}`, options, extra), { file: FASTCGI_FILE }));

  it('passes the CGI meta-variables, params and no HTTP_PROXY', async () => {
    await start('param APP_ENV test; param APP_PATH $path');
    const res = await fetch(gate!.url('/php/env.php/extra/path?a=1&b=two'), {
      headers: { 'x-custom': 'hello', proxy: 'http://evil.test', authorization: 'Bearer t' },
    });
    assert.equal(res.status, 200);
    const env = (await res.json()) as Env;
    const root = FASTCGI_FILE.replace(/t\.gate$/, 'www');
    assert.equal(env.SCRIPT_FILENAME, `${root}/env.php`);
    assert.equal(env.SCRIPT_NAME, '/php/env.php');
    assert.equal(env.PATH_INFO, '/extra/path');
    assert.equal(env.PATH_TRANSLATED, `${root}/extra/path`);
    assert.equal(env.QUERY_STRING, 'a=1&b=two');
    assert.equal(env.REQUEST_METHOD, 'GET');
    assert.equal(env.REQUEST_URI, '/php/env.php/extra/path?a=1&b=two');
    assert.equal(env.DOCUMENT_ROOT, root);
    assert.equal(env.GATEWAY_INTERFACE, 'CGI/1.1');
    assert.equal(env.SERVER_PORT, String(gate!.port));
    assert.equal(env.REMOTE_ADDR, '127.0.0.1');
    assert.equal(env.HTTP_X_CUSTOM, 'hello');
    assert.equal(env.HTTP_AUTHORIZATION, 'Bearer t');
    assert.equal(env.HTTP_PROXY, undefined, 'httpoxy: a Proxy header never becomes HTTP_PROXY');
    assert.equal(env.APP_ENV, 'test');
    assert.equal(env.APP_PATH, '/php/env.php/extra/path');
    assert.equal(env.PHP_SELF, '/php/env.php/extra/path');
  });

  it('streams a POST body as FCGI_STDIN, with CONTENT_TYPE and CONTENT_LENGTH', async () => {
    await start();
    const res = await fetch(gate!.url('/php/env.php'), {
      method: 'POST',
      body: 'name=gate&n=2',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const env = (await res.json()) as Env;
    assert.equal(env.REQUEST_METHOD, 'POST');
    assert.equal(env.CONTENT_TYPE, 'application/x-www-form-urlencoded');
    assert.equal(env.CONTENT_LENGTH, '13');
    assert.deepEqual(env.post, { name: 'gate', n: '2' });
  });

  it('sends a large body with backpressure, and a chunked one with its length', async () => {
    await start();
    const big = 'y'.repeat(3 * 1024 * 1024);
    const res = await fetch(gate!.url('/php/env.php'), { method: 'PUT', body: big, headers: { 'content-type': 'text/plain' } });
    const env = (await res.json()) as Env;
    assert.equal(env.body.length, big.length);
    const open = openRequest(gate!.port, '/php/env.php');
    open.write('part one, ');
    open.end('part two');
    const chunked = JSON.parse((await open.response).body) as Env;
    assert.equal(chunked.body, 'part one, part two');
    assert.equal(chunked.CONTENT_LENGTH, '18');
  });

  it('answers with the status, reason and repeated headers the script sets', async () => {
    await start();
    const created = await rawGet(gate!.port, '/php/headers.php');
    assert.match(created.text, /^HTTP\/1\.1 201 Created\r\n/);
    assert.match(created.text, /\r\nX-Php: yes\r\n/);
    assert.match(created.text, /\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n/);
    assert.match(created.text, /created\n/);
    const teapot = await rawGet(gate!.port, '/php/status.php');
    assert.match(teapot.text, /^HTTP\/1\.1 418 I'm a teapot\r\n/);
  });

  it('streams a 4 MiB response whole', async () => {
    await start();
    const res = await fetch(gate!.url('/php/big.php'));
    assert.equal((await res.arrayBuffer()).byteLength, 4 * 1024 * 1024);
  });

  it('re-dispatches a local redirect as a GET, and passes a client redirect through as 302', async () => {
    await start();
    const local = await fetch(gate!.url('/php/local-redirect.php'), { method: 'POST', body: 'x', redirect: 'manual' });
    assert.equal(local.status, 200);
    const env = (await local.json()) as Env;
    assert.equal(env.SCRIPT_NAME, '/php/env.php');
    assert.equal(env.PATH_INFO, '/redirected');
    assert.equal(env.QUERY_STRING, 'from=local');
    assert.equal(env.REQUEST_METHOD, 'GET');
    const client = await fetch(gate!.url('/php/client-redirect.php'), { redirect: 'manual' });
    assert.equal(client.status, 302);
    assert.equal(client.headers.get('location'), 'https://example.com/elsewhere?x=1');
    await client.text();
  });

  it('serves the index for a folder, and 404 for missing, dotted or non-PHP files', async () => {
    await start();
    const sub = await fetch(gate!.url('/php/sub/'));
    assert.equal(await sub.text(), 'sub index /php/sub/index.php\n');
    for (const path of ['/php/missing.php', '/php/plain.txt', '/php/plain.txt/x.php', '/php/.env.php']) {
      const res = await fetch(gate!.url(path));
      assert.equal(res.status, 404, path);
      await res.text();
    }
  });

  it('answers 500 for a PHP fatal error and logs its stderr line', async () => {
    await start();
    const res = await fetch(gate!.url('/php/fatal.php'));
    assert.equal(res.status, 500);
    await res.text();
    const line = await logValue(gate!.logs, /(.*fastcgi stderr: PHP message: PHP Fatal error: .*no_such_function_gk.*)/);
    assert.ok(line, gate!.logs.join('\n'));
    assert.match(line, /request_id=\w+/);
  });

  it('answers 504 when the script outlives read_timeout, with one error line', async () => {
    await start('read_timeout 300ms');
    const res = await fetch(gate!.url('/php/slow.php'));
    assert.equal(res.status, 504);
    await res.text();
    const lines = gate!.logs.filter((l) => /timed out reading the response/.test(l));
    assert.equal(lines.length, 1, gate!.logs.join('\n'));
  });

  it('reuses one connection for sequential requests (FCGI_KEEP_CONN), and opens one per request with keepalive 0', async () => {
    const relay = await countingRelay(fpm!.socket);
    try {
      gate = await startGate(fastcgiConfig(`unix:${relay.socket}`), { file: FASTCGI_FILE });
      const pids = new Set<string>();
      for (let i = 0; i < 5; i++) pids.add(await (await fetch(gate.url('/php/pid.php'))).text());
      assert.equal(relay.accepted(), 1);
      assert.equal(pids.size, 1);
      await gate.close();
      gate = await startGate(fastcgiConfig(`unix:${relay.socket}`, 'keepalive 0'), { file: FASTCGI_FILE });
      for (let i = 0; i < 3; i++) await (await fetch(gate.url('/php/pid.php'))).text();
      assert.equal(relay.accepted(), 4);
    } finally {
      await gate?.close();
      gate = undefined;
      await relay.close();
    }
  });

  it('keeps its connections while a new one runs a slow script, rather than reconnecting for each request', async () => {
    const relay = await countingRelay(fpm!.socket);
    try {
      gate = await startGate(fastcgiConfig(`unix:${relay.socket}`), { file: FASTCGI_FILE });
      const slow = fetch(gate.url('/php/pause.php')).then((r) => r.text()); // a new connection, no answer for 400 ms
      for (let i = 0; i < 2500 && relay.accepted() < 1; i++) await new Promise((r) => setTimeout(r, 2)); // bounded: 5 s
      for (let i = 0; i < 3; i++) await (await fetch(gate.url('/php/pid.php'))).text();
      assert.equal(relay.accepted(), 2, 'the quick requests share one kept connection');
      assert.equal(await slow, 'paused\n');
    } finally {
      await gate?.close();
      gate = undefined;
      await relay.close();
    }
  });

  it('serves more concurrent requests than php-fpm has children, without starving any', async () => {
    const relay = await countingRelay(fpm!.socket);
    try {
      gate = await startGate(fastcgiConfig(`unix:${relay.socket}`), { file: FASTCGI_FILE });
      // Both children first run a slow script on two connections the pool then keeps: the quick
      // requests open its other connections, which wait in php-fpm's backlog, and must still
      // get a child once the slow ones are done, though the first two stay kept.
      const slow = [0, 1].map(() => fetch(gate!.url('/php/pause.php')).then(async (r) => [r.status, await r.text()] as const));
      for (let i = 0; i < 200 && relay.accepted() < 2; i++) await new Promise((r) => setTimeout(r, 2));
      const quick = Array.from({ length: 10 }, () => fetch(gate!.url('/php/pid.php')).then(async (r) => [r.status, await r.text()] as const));
      const results = await Promise.all([...slow, ...quick]);
      assert.deepEqual(
        results.map(([s]) => s),
        Array(12).fill(200),
      );
      const warnings = gate!.logs.filter((l) => l.includes('fewer children than workers x keepalive, 4 per worker, lower keepalive'));
      assert.equal(warnings.length, 1, gate!.logs.join('\n'));
    } finally {
      await gate?.close();
      gate = undefined;
      await relay.close();
    }
  });

  // gatekit holds both children on two idle kept connections; another client of the pool
  // (another worker, another server) must still get a child: a kept connection closes at the
  // latest a second after its first answer, idle or not, whatever keepalive_timeout says (30s,
  // or 0s: no idle timeout of its own).
  for (const idle of ['30s', '0s'])
    it(`frees the children its idle connections hold, for another client of php-fpm (keepalive_timeout ${idle})`, async () => {
      gate = await startGate(fastcgiConfig(`unix:${fpm!.socket}`, `keepalive 2; keepalive_timeout ${idle}`), { file: FASTCGI_FILE });
      const pids = await Promise.all([0, 1].map(async () => (await fetch(gate!.url('/php/nap.php'))).text()));
      assert.equal(new Set(pids).size, 2, 'both children answered, each on its own kept connection');
      const answer = await fcgiRun(fpm!.socket, join(FASTCGI_FILE, '..', 'www', 'pid.php'), 10_000); // for good without the rule
      assert.match(answer, /\r\n\r\n\d+$/);
    });

  it('drops a connection whose client went away mid-response, and keeps serving', async () => {
    await start();
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: gate!.port, path: '/php/big.php', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.end();
    });
    const res = await fetch(gate!.url('/php/headers.php'));
    assert.equal(res.status, 201);
    await res.text();
  });
});

describe('fastcgi: responder down', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('answers 502 when nothing listens on the socket, with one error line', async () => {
    gate = await startGate(fastcgiConfig('unix:/nonexistent-gk/php.sock'), { file: FASTCGI_FILE });
    const res = await fetch(gate.url('/php/env.php'));
    assert.equal(res.status, 502);
    await res.text();
    const lines = gate.logs.filter((l) => /Bad Gateway/.test(l));
    assert.equal(lines.length, 1, gate.logs.join('\n'));
    assert.match(lines[0], /connect to unix:\/nonexistent-gk\/php\.sock failed: ENOENT/);
  });

  it('answers 502 when a TCP port refuses', async () => {
    gate = await startGate(fastcgiConfig('127.0.0.1:1'), { file: FASTCGI_FILE });
    const res = await fetch(gate.url('/php/env.php'));
    assert.equal(res.status, 502);
    await res.text();
  });
});
