import assert from 'node:assert/strict';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';
import { rawRequest } from '../../test/helpers/raw-http.js';

describe('redirect', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('sends 301 by default, with a short HTML body for GET', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; redirect https://x.test$path }');
    const res = await fetch(gate.url('/a'), { redirect: 'manual' });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), 'https://x.test/a');
    assert.equal(await res.text(), '<a href="https://x.test/a">Moved Permanently</a>.\n');
  });

  it('sends each allowed status; 307 and 308 keep the method', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route = /301 { redirect 301 /to }
      route = /302 { redirect 302 /to }
      route = /303 { redirect 303 /to }
      route = /307 { redirect 307 /to }
      route = /308 { redirect 308 /to }
      route = /to { respond "$method arrived" }
    }`);
    for (const s of [301, 302, 303, 307, 308]) {
      const res: Response = await fetch(gate.url(`/${s}`), { redirect: 'manual' });
      assert.deepEqual([res.status, res.headers.get('location')], [s, '/to']);
    }
    const kept = await fetch(gate.url('/308'), { method: 'POST', body: 'x' });
    assert.equal(await kept.text(), 'POST arrived');
    const changed = await fetch(gate.url('/303'), { method: 'POST', body: 'x' });
    assert.equal(await changed.text(), 'GET arrived');
    const post = await fetch(gate.url('/307'), { method: 'POST', body: 'x', redirect: 'manual' });
    assert.deepEqual([post.status, await post.text()], [307, '']);
  });

  it('expands $scheme $host $uri $path $query and regex captures', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route ~ ^/old/(\\w+)/(\\d+)$ { redirect 302 /new/$2/$1?from=$path }
      route / { redirect 302 "$scheme://$host/x$uri|$path|$query" }
    }`);
    const a = await fetch(gate.url('/old/item/42'), { redirect: 'manual' });
    assert.equal(a.headers.get('location'), '/new/42/item?from=/old/item/42');
    const b = await rawRequest(gate.port, 'GET /p%20q?a=1&b=2 HTTP/1.1\r\nHost: example.test:8080\r\nConnection: close\r\n\r\n');
    assert.match(b.text, /\r\nlocation: http:\/\/example\.test\/x\/p%20q\?a=1&b=2\|\/p%20q\|a=1&b=2\r\n/i);
  });

  it('percent-encodes $path and captures in the Location, so any path gets its redirect and no error is logged', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /p/ { redirect 302 $path }
      route ~ ^/old(/.*)$ { redirect 301 $1 }
    }`);
    const cases: [string, number, string][] = [
      ['/p/%e2%98%83', 302, '/p/%E2%98%83'],
      ['/p/%7f', 302, '/p/%7F'],
      ['/p/%01', 302, '/p/%01'],
      ['/p/%0d%0aSet-Cookie:%20x=1', 302, '/p/%0D%0ASet-Cookie:%20x=1'],
      ['/p/a%25b%3Fc%23d', 302, '/p/a%25b%3Fc%23d'],
      ['/p/"<>`{}|^', 302, '/p/%22%3C%3E%60%7B%7D%7C%5E'],
      ["/p/a:b@c!$&'()*+,;=~[x]", 302, "/p/a:b@c!$&'()*+,;=~[x]"],
      ['/old/%e2%98%83', 301, '/%E2%98%83'],
    ];
    for (const [path, status, location] of cases) {
      const r = await rawRequest(gate.port, `GET ${path} HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n`);
      assert.equal(r.text.split('\r\n')[0], `HTTP/1.1 ${status} ${status === 301 ? 'Moved Permanently' : 'Found'}`, path);
      assert.equal(/\r\nlocation: ([^\r]*)\r\n/i.exec(r.text)?.[1], location, path);
      assert.doesNotMatch(r.text, /\r\nset-cookie:/i);
    }
    assert.deepEqual(
      gate.logs.filter((l) => / error /.test(l)),
      [],
    );
  });

  it('keeps the escapes of $uri, encodes a header in a query as one value (its bytes as sent), and makes literal text sendable', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /u/ { redirect 302 "/café/☃ x$uri" }
      route /h/ { redirect 302 /h?v=$http_x_v }
      route ~ ^/s/(.) { redirect 302 /t/$1 }
      route /https/ { redirect https }
    }`);
    const location = async (target: string, headers = ''): Promise<string | undefined> => {
      const r = await rawRequest(
        gate!.port,
        Buffer.concat([
          Buffer.from(`GET ${target} HTTP/1.1\r\nHost: x.test\r\n`, 'latin1'),
          Buffer.from(headers, 'latin1'),
          Buffer.from('Connection: close\r\n\r\n'),
        ]),
      );
      return /\r\nlocation: ([^\r]*)\r\n/i.exec(r.text)?.[1];
    };
    assert.equal(await location('/u/a%2Fb"\\?q=%22<'), '/caf%C3%A9/%E2%98%83%20x/u/a%2Fb%22%5C?q=%22%3C');
    assert.equal(await location('/https/a"\\b%41?x'), 'https://x.test/https/a%22%5Cb%41?x');
    const latin1 = String.fromCharCode(...Array.from({ length: 128 }, (_, i) => 128 + i));
    const escaped = Array.from({ length: 128 }, (_, i) => `%${(128 + i).toString(16).toUpperCase()}`).join('');
    assert.equal(await location('/h/', `X-V: a\tb%20${latin1}\r\n`), `/h?v=a%09b%2520${escaped}`);
    // (.) takes half of a surrogate pair: it still goes out as valid UTF-8, U+FFFD
    assert.equal(await location('/s/%F0%9F%98%80'), '/t/%EF%BF%BD');
  });

  it('never sends a relative Location that browsers read as another host', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route ~ ^/old(/.*)$ { redirect 301 $1 }
      route ~ ^/slash(/.*)$ { redirect 301 /$1 }
      route /go { redirect 302 $arg_to }
      route /cdn/ { redirect 302 //cdn.test$path }
    }`);
    const cases: [string, string][] = [
      ['/old/%5Cevil.test', '/%5Cevil.test'],
      ['/old/\\evil.test', '/%5Cevil.test'],
      ['/old/%09/evil.test', '/%09/evil.test'],
      ['/slash/evil.test', '/evil.test'],
      ['/go?to=//evil.test/x', '/evil.test/x'],
      ['/go?to=/%5C/evil.test', '/%5C/evil.test'],
      ['/cdn/a', '//cdn.test/cdn/a'],
    ];
    for (const [target, location] of cases) {
      const r = await rawRequest(gate.port, `GET ${target} HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n`);
      assert.equal(/\r\nlocation: ([^\r]*)\r\n/i.exec(r.text)?.[1], location, target);
    }
  });

  it('redirect https sends the same host and URI over HTTPS, with the query, as a whole-server handler', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; redirect https }');
    const r = await rawRequest(gate.port, 'GET /a/b%2Fc?x=1&y HTTP/1.1\r\nHost: Shop.Example.test:8080\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 301);
    assert.match(r.text, /\r\nlocation: https:\/\/shop\.example\.test\/a\/b%2Fc\?x=1&y\r\n/i);
  });

  it('redirect https PORT puts the port in the URL, inside a route, and keeps HEAD bodiless', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /secure/ { redirect 308 https 8443 }
      route / { respond "plain" }
    }`);
    const res = await rawRequest(gate.port, 'HEAD /secure/x?q=1 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 308);
    assert.match(res.text, /\r\nlocation: https:\/\/example\.test:8443\/secure\/x\?q=1\r\n/i);
    assert.ok(res.text.endsWith('\r\n\r\n'), 'no body for HEAD');
    assert.equal(await (await fetch(gate.url('/other'))).text(), 'plain');
    const v6 = await rawRequest(gate.port, 'GET /secure/ HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n');
    assert.match(v6.text, /\r\nlocation: https:\/\/\[::1\]:8443\/secure\/\r\n/i);
  });

  it('answers 400 to a Host that cannot go in a URL', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; redirect https }');
    for (const host of ['evil.test/x', 'a@b', 'x y', '']) {
      const r = await rawRequest(gate.port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.ok(r.status === 400 || (host === '' && r.status === 301), `${host}: ${r.status}`);
    }
  });

  it('reports a status outside 301..308 at its position', async () => {
    const [d] = await checkGate('server { listen 80; redirect 299 /x }');
    assert.deepEqual([d.code, d.span.line, d.span.col], ['GK_DSL_BAD_ARG', 1, 30]);
    const [e] = await checkGate('server { listen 80; redirect 304 /x }');
    assert.equal(e.code, 'GK_DSL_BAD_ARG');
  });

  it('reports a port after a target that is not https, and a missing target', async () => {
    const [d] = await checkGate('server { listen 80; redirect /x 8443 }');
    assert.deepEqual([d.code, d.span.col], ['GK_REDIRECT_PORT', 33]);
    const [m] = await checkGate('server { listen 80; redirect }');
    assert.equal(m.code, 'GK_DSL_MISSING_ARG');
  });

  it('reports a status given without a target, and suggests the right order for a status after the target', async () => {
    for (const status of ['301', '308']) {
      const diags = await checkGate(`server { listen 80\n  route / { redirect ${status} }\n}`);
      assert.deepEqual(
        diags.map((d) => [d.code, d.span.line, d.span.col, d.message]),
        [['GK_REDIRECT_TARGET', 2, 22, `missing target after status '${status}' in 'redirect'`]],
      );
    }
    const [d] = await checkGate('server { listen 80; redirect /x 301 }');
    assert.deepEqual([d.code, d.span.col, d.help], ['GK_REDIRECT_PORT', 33, 'the status comes first: write redirect 301 /x']);
    assert.deepEqual(await checkGate('server { listen 80; redirect 302 301 }'), [], 'a status, then a relative target');
  });

  it('reports a $N that no regex route where it stands can set', async () => {
    const text = 'server { listen 80\n  route /old/ { redirect 301 /new/$1 }\n  route ~ ^/a/(\\d+)$ { redirect 301 /b/$1/$2 }\n}';
    const diags = await checkGate(text);
    assert.deepEqual(
      diags.map((d) => [d.code, d.span.line, d.span.col, d.message]),
      [
        ['GK_DSL_NO_CAPTURE', 2, text.split('\n')[1].indexOf('$1') + 1, "'$1' is never set here: no regex route (route ~ ...) serves the requests here"],
        ['GK_DSL_NO_CAPTURE', 3, text.split('\n')[2].indexOf('$2') + 1, "'$2' is never set here: the regex routes here have 1 group"],
      ],
    );
    // a group from a regex route nested inside, or anywhere in the server for server-wide directives
    assert.deepEqual(await checkGate('server { listen 80; route /x/ { headers { set x-id $1 }; route ~ ^/x/(\\w+)$ { redirect /y/$1 } } }'), []);
    assert.deepEqual(await checkGate('server { listen 80; headers { set x-id $1 }; route ~ ^/(\\w+)$ { respond "$1" } }'), []);
  });

  it('takes https in any case as the HTTPS redirect', async () => {
    assert.deepEqual(await checkGate('server { listen 80; route /a/ { redirect HTTPS 8443 }; redirect Https }'), []);
    gate = await startGate('server { listen 127.0.0.1:0; route /a/ { redirect HTTPS 8443 }; redirect Https }');
    for (const [path, location] of [
      ['/a/x?q', 'https://x.test:8443/a/x?q'],
      ['/b', 'https://x.test/b'],
    ]) {
      const r = await rawRequest(gate.port, `GET ${path} HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n`);
      assert.equal(/\r\nlocation: ([^\r]*)\r\n/i.exec(r.text)?.[1], location, path);
    }
  });
});
