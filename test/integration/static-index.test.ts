import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { arg, directive, injectable, type AnyUnit, type Ctx, type Plugin } from '../../core/index.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { get } from 'node:http';
import { PHP_FPM, SKIP_REASON, startPhpFpm, type PhpFpm } from './fastcgi-fixtures.js';

const PHP_SOURCE = '<?php echo "php ran: " . $_SERVER["SCRIPT_NAME"] . " " . $_SERVER["REQUEST_METHOD"]; ?>';

/** site writes a folder whose root has index.php (and index.html), and sub/ only index.html. */
function site(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gk-index-'));
  writeFileSync(join(dir, 'index.php'), PHP_SOURCE);
  writeFileSync(join(dir, 'index.html'), '<p>root html</p>');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'index.html'), '<p>sub html</p>');
  writeFileSync(join(dir, 'app.php'), PHP_SOURCE);
  return dir;
}

const bounce = directive({ name: 'bounce', kind: 'handler', doc: 'Route the request again to TARGET', schema: { args: [arg.string('target')] } });

/** BouncePlugin's handler sends every request through routing again, to its target. */
@injectable()
class BouncePlugin implements Plugin {
  readonly name = 'bounce';
  readonly directives = [bounce];
  create(_d: string, config: unknown): AnyUnit {
    const { target } = config as { target: string };
    return { handle: (ctx: Ctx) => ctx.redispatch(target) };
  }
}

/** getBytes GETs a URL and returns its status, headers and body bytes as sent (no decoding). */
function getBytes(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('static: index files and fallbacks are routed again (internal redirects, as in Nginx)', () => {
  let gate: TestGate | undefined;
  let dir: string;
  beforeEach(() => {
    dir = site();
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const phpBeside = (staticOptions: string, serverExtra = ''): string => `server { listen 127.0.0.1:0
    ${serverExtra}
    route ~ \\.php$ { respond 200 "php route: $path $method $query" }
    route / { static ${dir} { ${staticOptions} } }
  }`;

  it('sends a directory whose index is index.php to the PHP route, never its source; index.html stays with static', async () => {
    gate = await startGate(phpBeside('index index.php index.html'));
    const root = await fetch(gate.url('/?a=1'));
    const body = await root.text();
    assert.equal(root.status, 200);
    assert.doesNotMatch(body, /<\?php/);
    assert.notEqual(root.headers.get('content-type'), 'application/x-httpd-php');
    assert.equal(body, 'php route: /index.php GET a=1');
    const sub = await fetch(gate.url('/sub/'));
    assert.deepEqual([sub.status, sub.headers.get('content-type'), await sub.text()], [200, 'text/html; charset=utf-8', '<p>sub html</p>']);
    // the method goes with it: a form that posts to / reaches index.php
    const post = await fetch(gate.url('/'), { method: 'POST', body: 'x=1' });
    assert.deepEqual([post.status, await post.text()], [200, 'php route: /index.php POST ']);
    // without an index elsewhere, static still refuses other methods
    assert.equal((await fetch(gate.url('/sub/'), { method: 'POST', body: 'x' })).status, 405);
  });

  it('routes a fallback file again too', async () => {
    gate = await startGate(phpBeside('fallback /app.php'));
    const res = await fetch(gate.url('/no/such/page?p=2'));
    assert.deepEqual([res.status, await res.text()], [200, 'php route: /app.php GET p=2']);
  });

  it("runs a server's middleware once for a request routed again: one log line, one gzip, one header", async () => {
    gate = await startGate(
      phpBeside(
        'index index.php',
        `log { format "$status $uri"; to ${dir}/access.log }
      compress { gzip; min_size 1B; types text/* }
      headers { add x-once yes }`,
      ),
    );
    const res = await getBytes(gate.url('/'), { 'accept-encoding': 'gzip' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers['x-once'], 'yes');
    assert.equal(gunzipSync(res.body).toString(), 'php route: /index.php GET ');
    await gate.close();
    gate = undefined;
    assert.deepEqual(readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean), ['200 /']);
  });

  it('runs the middleware of the route it reaches: an auth there guards index.php reached from /', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route ~ \\.php$ { auth bearer { token s3cret-s3cret-s3cret }; respond 200 "php route: $path" }
      route / { static ${dir} { index index.php } }
    }`);
    assert.equal((await fetch(gate.url('/'))).status, 401);
    const res = await fetch(gate.url('/'), { headers: { authorization: 'Bearer s3cret-s3cret-s3cret' } });
    assert.deepEqual([res.status, await res.text()], [200, 'php route: /index.php']);
  });

  it('ends a redirect loop with a 500 after 10 internal redirects', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0
      route /a { bounce /b }
      route /b { bounce /a }
    }`,
      { plugins: [BouncePlugin] },
    );
    const res = await fetch(gate.url('/a'));
    assert.equal(res.status, 500);
    assert.ok(
      gate.logs.some((l) => /internal redirect/.test(l)),
      gate.logs.join('\n'),
    );
  });
});

describe('static: index.php beside a real PHP-FPM', function () {
  let fpm: PhpFpm | undefined;
  let gate: TestGate | undefined;
  let dir: string;
  before(async function () {
    if (!PHP_FPM) {
      console.log(`      skipped: ${SKIP_REASON}`);
      this.skip();
    }
    fpm = await startPhpFpm(1);
  });
  after(async () => {
    await fpm?.stop();
  });
  beforeEach(() => {
    dir = site();
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs index.php for / (fastcgi for \\.php, static for the rest)', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route ~ \\.php$ { fastcgi unix:${fpm!.socket} { root ${dir} } }
      route / { static ${dir} { index index.php index.html } }
    }`);
    const res = await fetch(gate.url('/'));
    assert.deepEqual([res.status, await res.text()], [200, 'php ran: /index.php GET']);
    assert.equal(await (await fetch(gate.url('/sub/'))).text(), '<p>sub html</p>');
  });
});
