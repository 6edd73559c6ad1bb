import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { runCli, type CliResult } from '../helpers/cli.js';

// A site as a user writes one: an HTTP->HTTPS redirect, static pages with an index handed to
// PHP and a single-page app fallback, a login, a rate limit, headers, a proxy and a default server.
const SITE = `server example.test {
    listen 127.0.0.1:8080
    redirect https 8443
}
server example.test {
    listen 127.0.0.1:8443 tls
    tls self_signed
    headers { set X-Frame-Options DENY; remove Server }
    compress { gzip; min_size 1KB }
    route / { static ./www }
    route /app/ { static ./spa { fallback /index.html } }
    route ~ \\.php$ { fastcgi 127.0.0.1:9 { root ./php } }
    route /php/ { static ./php { index index.php } }
    route /admin/ {
        auth basic { realm "admin"; users ./htpasswd }
        respond 200 "welcome $user"
    }
    route /api/ {
        limit { rate 2/s burst 2 }
        headers { set Vary Accept }
        proxy http://127.0.0.1:9
    }
}
server upload.test {
    listen 127.0.0.1:8080
    limit { body 10B }
    route /up/ { wsgi app:application { chdir ./ } }
    route = /hello { respond 200 "hi $cookie_name from $host ($http_x_who)" }
}
server {
    listen 127.0.0.1:8080
    respond 404 "no such site"
}
server {
    listen 127.0.0.1:9090
    respond 200 "port 9090"
}
`;

/** lines picks the report lines of a run (one per expectation) and its summary. */
const report = (r: CliResult): string[] => r.stdout.trim().split('\n');

describe('gatekit test: requests, internal redirects and checks', function () {
  this.timeout(15000);
  let dir: string;
  const run = async (tests: string): Promise<CliResult> => {
    writeFileSync(join(dir, 'site.gate.test'), tests);
    return runCli(['test', 'site.gate'], { cwd: dir });
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-conftest-'));
    for (const d of ['www', 'spa', 'php']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'www', 'index.html'), 'home\n');
    writeFileSync(join(dir, 'www', 'big.txt'), 'x'.repeat(4096));
    writeFileSync(join(dir, 'spa', 'index.html'), '<p>app</p>\n');
    writeFileSync(join(dir, 'php', 'index.php'), '<?php echo 1;\n');
    writeFileSync(join(dir, 'htpasswd'), `alice:${bcrypt.hashSync('pw', 4)}\n`);
    writeFileSync(join(dir, 'site.gate'), SITE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('follows internal redirects (an index file, a fallback) through the routing the server uses, and names the route that served', async () => {
    const r = await run(`expect GET https://example.test:8443/ { status 200; handler static; body "home\\n" }
expect GET https://example.test:8443/php/ { status 200; route "~ \\.php$"; handler fastcgi }
expect GET https://example.test:8443/app/deep/link { status 200; route /app/; header Content-Type ~ ^text/html; body "<p>app</p>\\n" }
expect GET https://example.test:8443/php/ { route /php/ }
`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(
      report(r).map((l) => l.slice(0, 4)),
      ['ok  ', 'ok  ', 'ok  ', 'FAIL', '3 pa'],
    );
    assert.match(r.stderr, /site\.gate\.test:4:45: error: expected route \/php\/, got ~ \\\.php\$ \(after an internal redirect from \/php\/\)/);
  });

  it('sends request headers, a basic login, cookies and a body, and repeats a request until a limit answers', async () => {
    const r = await run(`expect GET https://example.test:8443/admin/ { request_basic_auth alice pw; status 200; body "welcome alice" }
expect GET https://example.test:8443/admin/ { request_header Authorization "Basic YWxpY2U6cHc="; status 200 }
expect GET https://example.test:8443/admin/ { request_basic_auth alice wrong; status 401; header WWW-Authenticate ~ "realm=\\"admin\\"" }
expect GET https://example.test:8443/api/x { repeat 3; status 429; header Retry-After }
expect GET https://example.test:8443/api/x { repeat 2; status 200; handler proxy; header Vary Accept }
expect POST http://upload.test:8080/up/x { request_body "0123456789ABC"; status 413 }
expect POST http://upload.test:8080/up/x { request_body "0123"; status 200; handler wsgi }
expect GET http://upload.test:8080/hello { request_header Cookie "name=bob"; request_header X-Who me; body "hi bob from upload.test (me)" }
`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^8 passed, 0 failed$/m);
  });

  it('picks the server by scheme, port and Host as the listeners would, and answers a bad Host with 400', async () => {
    const r = await run(`expect GET http://example.test:8080/x?y=1 { status 301; header Location "https://example.test:8443/x?y=1" }
expect GET http://unknown.test:8080/ { status 404; body "no such site" }
expect GET /anything { status 404; body "no such site" }
expect GET http://example.test:9090/ { status 200; body "port 9090" }
expect GET http://upload.test:8080/hello { request_header Host bad/host; status 400 }
expect GET /hello { request_header Host upload.test; request_header Host other.test; status 400 }
expect GET /hello { request_header Host upload.test; status 200 }
`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^7 passed, 0 failed$/m);
  });

  it('checks headers present, equal, matching or absent, and the body as sent or decoded', async () => {
    const r =
      await run(`expect GET https://example.test:8443/big.txt { request_header Accept-Encoding gzip; header Content-Encoding gzip; no_header Server; body ~ "^x{4096}$" }
expect GET https://example.test:8443/ { header X-Frame-Options SAMEORIGIN; no_header X-Frame-Options; header Content-Type ~ ^image/; body ~ ^nothing }
`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok {4}GET https:\/\/example\.test:8443\/big\.txt {2}\(site\.gate\.test:1:1\)$/m);
    assert.match(r.stdout, /^FAIL {2}GET https:\/\/example\.test:8443\/ {2}\(site\.gate\.test:2:1\)$/m);
    assert.match(r.stderr, /site\.gate\.test:2:41: error: expected header x-frame-options "SAMEORIGIN", got "DENY"/);
    assert.match(r.stderr, /site\.gate\.test:2:76: error: expected no header x-frame-options, got "DENY"/);
    assert.match(r.stderr, /site\.gate\.test:2:103: error: expected header content-type matching ~ \^image\/, got "text\/html; charset=utf-8"/);
    assert.match(r.stderr, /site\.gate\.test:2:134: error: expected body matching ~ \^nothing, got "home\\n"/);
    assert.match(r.stdout, /^1 passed, 1 failed$/m);
  });

  it('shows what the server logged beside a failure', async () => {
    const r = await run('expect GET https://example.test:8443/admin/ { request_basic_auth bob pw; status 200 }\n');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /site\.gate\.test:1:74: error: expected status 200, got 401 \(route \/admin\/, line 14\)/);
    assert.match(r.stderr, /= help: the server logged: info \[auth\]/);
  });

  it('runs every file given, a broken one included in the summary, and exits 1', async () => {
    writeFileSync(join(dir, 'other.gate'), 'server {\n    listen 127.0.0.1:0\n    respnd 200\n}\n');
    writeFileSync(join(dir, 'other.gate.test'), 'expect GET / { status 200 }\n');
    writeFileSync(join(dir, 'site.gate.test'), 'expect GET https://example.test:8443/ { status 200 }\n');
    const r = await runCli(['test', 'missing.gate', 'other.gate', 'site.gate'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no test file missing\.gate\.test/);
    assert.match(r.stderr, /other\.gate:3:5: error: unknown directive 'respnd'/);
    assert.deepEqual(report(r), ['ok    GET https://example.test:8443/  (site.gate.test:1:1)', '1 passed, 0 failed, 2 files with errors']);
  });

  it('refuses mistaken request words with their positions', async () => {
    const r = await run(`expect GET /x { request_header "Bad Name" v; status 200 }
expect GET /x { repeat 0; status 200 }
expect GET /x { header A ~ "(" }
expect GET /x { body a b }
expect GET /x { request_body }
expect GET "/a b" { status 200 }
expect GET ftp://x/ { status 200 }
`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /site\.gate\.test:1:32: error: invalid request header 'Bad Name'/);
    assert.match(r.stderr, /site\.gate\.test:2:24: error: invalid count '0' for 'repeat'/);
    assert.match(r.stderr, /site\.gate\.test:3:28: error: invalid regex '\('/);
    assert.match(r.stderr, /site\.gate\.test:4:17: error: invalid 'body'\n[^]*= help: usage: body TEXT \| body ~ REGEX/);
    assert.match(r.stderr, /site\.gate\.test:5:17: error: invalid 'request_body'/);
    assert.match(r.stderr, /site\.gate\.test:6:12: error: invalid URL '\/a b': a space/);
    assert.match(r.stderr, /site\.gate\.test:7:12: error: invalid URL 'ftp:\/\/x\/'/);
    assert.doesNotMatch(r.stderr, /checks nothing/);
  });
});
