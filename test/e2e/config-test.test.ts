import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { runCli } from '../helpers/cli.js';

const SITE = `server shop.example.test {
    listen 127.0.0.1:0
    route ~ ^/api/users/(\\d+)$ { proxy http://127.0.0.1:9 }
    route /files/ { static ./www }
    route = /old { redirect 308 https://shop.example.test/new?from=$uri }
}
server {
    listen 127.0.0.1:0
    route /admin { auth basic { realm "admin"; users ./htpasswd }; respond 200 "secret" }
    route / { headers { set X-Site main }; respond 200 "hello" }
}
`;

const PASSING = `expect GET https://shop.example.test/api/users/7 { route "~ ^/api/users/(\\d+)$"; handler proxy; status 200 }
expect GET http://shop.example.test/files { status 301; header Location "/files/" }
expect GET http://shop.example.test/files/a.txt { status 200; handler static; header Content-Type "text/plain; charset=utf-8" }
expect GET http://shop.example.test/files/nope.txt { status 404 }
expect GET http://shop.example.test/old { status 308; header Location "https://shop.example.test/new?from=/old" }
expect POST /admin { status 401; header WWW-Authenticate }
expect GET http://other.test/ { status 200; handler respond; route /; header X-Site main }
`;

describe('gatekit test', function () {
  this.timeout(10000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-conftest-'));
    mkdirSync(join(dir, 'www'));
    writeFileSync(join(dir, 'www', 'a.txt'), 'hi\n');
    writeFileSync(join(dir, 'htpasswd'), `alice:${bcrypt.hashSync('pw', 4)}\n`);
    writeFileSync(join(dir, 'site.gate'), SITE);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('passes expectations on routes, hosts, redirects, respond, auth, headers and static, with no port open', async () => {
    writeFileSync(join(dir, 'site.gate.test'), PASSING);
    const r = await runCli(['test', 'site.gate'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('ok    ')).length, 7, r.stdout);
    assert.match(r.stdout, /^ok {4}POST \/admin {2}\(site\.gate\.test:6:1\)$/m);
    assert.match(r.stdout, /7 passed, 0 failed/);
  });

  it('reports each failed check as a diagnostic at its place in the test file, and exits 1', async () => {
    writeFileSync(
      join(dir, 'site.gate.test'),
      'expect GET http://other.test/admin { status 200; handler respond }\nexpect GET /files/a.txt { route /files/ }\n',
    );
    const r = await runCli(['test', 'site.gate.test'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^FAIL {2}GET http:\/\/other\.test\/admin/m);
    assert.match(r.stderr, /site\.gate\.test:1:38: error: expected status 200, got 401 \(route \/admin, line 9\)/);
    assert.match(r.stderr, /site\.gate\.test:2:27: error: expected route \/files\/, got \//);
    assert.match(r.stdout, /0 passed, 2 failed/);
  });

  it('refuses a malformed test file or a config with errors, with positions', async () => {
    writeFileSync(join(dir, 'site.gate.test'), 'expect get /x { status 200 }\nexpect GET /y { colour blue }\nexpct GET /z { status 200 }\n');
    const r = await runCli(['test', 'site.gate'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /site\.gate\.test:1:8: error: invalid method 'get'/);
    assert.match(r.stderr, /site\.gate\.test:2:17: error: unknown check 'colour'/);
    assert.match(r.stderr, /site\.gate\.test:3:1: error: unknown test directive 'expct'/);
    writeFileSync(join(dir, 'site.gate.test'), 'expect GET / { status 200 }\n');
    writeFileSync(join(dir, 'site.gate'), SITE.replace('respond 200 "hello"', 'respnd 200'));
    const bad = await runCli(['test', 'site.gate'], { cwd: dir });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /site\.gate:10:\d+: error: unknown directive 'respnd'/);
  });
});
