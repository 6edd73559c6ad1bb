import assert from 'node:assert/strict';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawRequest } from '../helpers/raw-http.js';
import { echo, send, upstream, type TestUpstream } from './proxy-upstreams.js';

/** location sends a raw GET (the target exactly as given) and returns the Location header it got. */
async function location(port: number, target: string, headers = ''): Promise<string | undefined> {
  const r = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x.test\r\n${headers}Connection: close\r\n\r\n`);
  return /\r\nlocation: ([^\r]*)\r\n/i.exec(r.text)?.[1];
}

describe('URL templates: a variable is encoded as a component of the URL part it lands in', () => {
  let gate: TestGate | undefined;
  let up: TestUpstream | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await up?.close();
    up = undefined;
  });

  it('redirect: a decoded $arg_* in a query cannot add parameters or cut the query short (& = + ; # encoded)', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /go { redirect 302 "/next?u=$arg_u&sig=fixed" }
      route /frag { redirect 302 "/f#t=$arg_t" }
    }`);
    assert.equal(await location(gate.port, '/go?u=a%26b%3dc'), '/next?u=a%26b%3Dc&sig=fixed');
    assert.equal(await location(gate.port, '/go?u=a%2bb%20c%3Bd%23e'), '/next?u=a%2Bb%20c%3Bd%23e&sig=fixed');
    assert.equal(await location(gate.port, '/go?u=/x:y@z?w'), '/next?u=/x:y@z?w&sig=fixed', 'what a query value may hold stays');
    assert.equal(await location(gate.port, '/go?u=%E2%98%83%25'), '/next?u=%E2%98%83%25&sig=fixed');
    assert.equal(await location(gate.port, '/frag?t=a%26b%23c'), '/f#t=a%26b%23c');
  });

  it('redirect: in the path a variable keeps its slashes but not ? or #; in the authority it cannot leave the host', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /p/ { redirect 302 "/to$path?from=redirect" }
      route /h { redirect 302 "https://$arg_h.example.test/x" }
      route ~ ^/old(.*)$ { redirect 301 "https://new.example.test$1" }
    }`);
    assert.equal(await location(gate.port, '/p/a%3Fb%23c/d'), '/to/p/a%3Fb%23c/d?from=redirect');
    assert.equal(await location(gate.port, '/h?h=evil.test/x'), 'https://evil.test%2Fx.example.test/x');
    assert.equal(await location(gate.port, '/h?h=evil.test%23'), 'https://evil.test%23.example.test/x');
    assert.equal(await location(gate.port, '/h?h=shop'), 'https://shop.example.test/x');
    assert.equal(await location(gate.port, '/old@evil.test/x'), 'https://new.example.test%40evil.test%2Fx', 'no user-info trick: the value stays in the host');
    assert.equal(await location(gate.port, '/old/a/b'), 'https://new.example.test/a/b', 'a value that starts the path is a path');
  });

  it('redirect: $uri in a query is one value; $query in a query stays the query as sent', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /login/ { redirect 302 "/auth?next=$uri" }
      route /keep/ { redirect 302 "/new?$query" }
      route /more/ { redirect 302 "/new?a=1&$query" }
    }`);
    assert.equal(await location(gate.port, '/login/a%20b?x=1&y=2'), '/auth?next=/login/a%2520b?x%3D1%26y%3D2');
    assert.equal(await location(gate.port, '/keep/?x=1&y=%20'), '/new?x=1&y=%20');
    assert.equal(await location(gate.port, '/more/?x=1&y=2'), '/new?a=1&x=1&y=2');
  });

  it('redirect: a header value in a query is one value too', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; route /back { redirect 302 "/r?ref=$http_x_ref&v=1" } }');
    assert.equal(await location(gate.port, '/back', 'X-Ref: http://a.test/?p=1&q=2\r\n'), '/r?ref=http://a.test/?p%3D1%26q%3D2&v=1');
  });

  it('headers: a Location set from a template is encoded the same way', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /h { headers { set Location "/next?u=$arg_u" }; respond 302 "" }
    }`);
    assert.equal(await location(gate.port, '/h?u=a%26b%3dc'), '/next?u=a%26b%3Dc');
  });

  it('proxy: a rewrite puts a decoded variable into the upstream path and query as one component', async () => {
    up = await upstream(echo('a'));
    gate = await startGate(`server { listen 127.0.0.1:0
      route /api/ { proxy ${up.url} { rewrite "/v2$path?q=$arg_q" } }
    }`);
    const r = await send(gate.port, '/api/a%3Fb%2523?q=x%26admin%3D1');
    assert.equal(JSON.parse(r.body).url, '/v2/api/a%3Fb%2523?q=x%26admin%3D1');
  });
});
