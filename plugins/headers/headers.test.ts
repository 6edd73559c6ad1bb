import assert from 'node:assert/strict';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';
import { rawRequest } from '../../test/helpers/raw-http.js';
import { MwTestPlugin } from '../../test/integration/mw-fixtures.js';

const plugins = [MwTestPlugin];

describe('headers', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it("sets, adds, defaults and removes response headers, over the handler's own, with variables", async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      headers { set X-Frame-Options DENY; set X-Served "$method $status"; add Link "</a>; rel=preload"; add Link "</b>; rel=preload"
                default Cache-Control "no-store"; default Content-Type text/html; remove X-Debug-* Content-Type-Options }
      route /json { respond "{}" { content_type application/json } }
      route /r { headers { set X-Inner inner }; respond 201 "r" }
      route /small { limit { body 1B }; respond "never" }
    }`);
    const res = await fetch(gate.url('/json'));
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-served'), 'GET 200');
    assert.equal(res.headers.get('link'), '</a>; rel=preload, </b>; rel=preload');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('content-type'), 'application/json', "default keeps the handler's value");
    const inner = await fetch(gate.url('/r'));
    assert.deepEqual([inner.headers.get('x-inner'), inner.headers.get('x-served')], ['inner', 'GET 201']);
    const refused = await fetch(gate.url('/small'), { method: 'POST', body: 'too long' });
    assert.equal(refused.headers.get('x-served'), 'POST 413', 'error answers get the headers too');
  });

  it('removes headers a handler set, by name and by prefix', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; headers { remove Content-Type X-Debug-* }; respond "x" }`);
    const res = await fetch(gate.url('/'));
    assert.equal(res.headers.get('content-type'), null);
  });

  it('changes request headers that handlers see, in both headers and rawHeaders', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0
      headers request { set X-Client $remote; add X-Tag two; remove Cookie X-Secret-*; default X-Default d }
      echo_headers
    }`,
      { plugins },
    );
    const res = await fetch(gate.url('/'), { headers: { cookie: 'sid=1', 'x-secret-a': '1', 'x-tag': 'one', 'x-client': 'spoofed', 'x-default': 'mine' } });
    const { headers, raw } = (await res.json()) as { headers: Record<string, string>; raw: string[] };
    assert.equal(headers['x-client'], '127.0.0.1');
    assert.equal(headers['x-tag'], 'one, two');
    assert.equal(headers['x-default'], 'mine');
    assert.equal(headers.cookie, undefined);
    assert.equal(headers['x-secret-a'], undefined);
    const rawNames = raw.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
    assert.deepEqual(
      rawNames.filter((h) => h === 'x-client' || h === 'cookie' || h.startsWith('x-secret')),
      ['x-client'],
    );
    assert.deepEqual(
      raw.filter((_, i) => i % 2 === 1 && raw[i - 1].toLowerCase() === 'x-tag'),
      ['one', 'two'],
    );
  });

  it('percent-encodes what decoded variables hold beyond printable ASCII, both ways', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0
      headers { set X-Q $arg_v; set X-P $path }
      headers request { set X-Up $arg_v }
      echo_headers
    }`,
      { plugins },
    );
    const r = await rawRequest(gate.port, 'GET /%E2%82%AC?v=%E2%82%AC%C3%A9%25 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 200, 'the process answers (a header Node refused once took it down)');
    const line = (name: string): string => new RegExp(`\r\n${name}: ([^\r]*)\r\n`, 'i').exec(r.text)?.[1] ?? '';
    assert.deepEqual([line('x-q'), line('x-p')], ['%E2%82%AC%C3%A9%25', '/%E2%82%AC']);
    const body = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { raw: string[] };
    const up = body.raw[body.raw.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-up') + 1];
    assert.equal(up, '%E2%82%AC%C3%A9%25', 'handlers and upstreams get it encoded too');
  });

  it('sends no header for an empty value: set leaves none, add and default add none', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0
      headers { set Content-Type $http_x_type; add X-A $http_x_a; default X-D $http_x_d }
      headers request { set X-Up $http_x_up }
      echo_headers
    }`,
      { plugins },
    );
    const empty = await fetch(gate.url('/'));
    assert.deepEqual([empty.headers.get('content-type'), empty.headers.has('x-a'), empty.headers.has('x-d')], [null, false, false]);
    const { raw } = (await empty.json()) as { raw: string[] };
    assert.ok(!raw.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-up'), 'nothing upstream either');
    const full = await fetch(gate.url('/'), { headers: { 'x-type': 'text/x-test', 'x-a': 'a', 'x-d': 'd' } });
    assert.deepEqual([full.headers.get('content-type'), full.headers.get('x-a'), full.headers.get('x-d')], ['text/x-test', 'a', 'd']);
  });

  it('reports a value that is not printable ASCII', async () => {
    const [d] = await checkGate('server { listen 80; headers { set X-A "caf\u00e9" }; respond "x" }');
    assert.deepEqual([d.code, d.span.col], ['GK_HEADERS_BAD_VALUE', 35]);
  });

  it('reports a bad header name and an empty block', async () => {
    const [a] = await checkGate('server { listen 80; headers { set "Bad Name" x }; respond "x" }');
    assert.deepEqual([a.code, a.span.line, a.span.col], ['GK_HEADERS_BAD_NAME', 1, 35]);
    const [b] = await checkGate('server { listen 80; headers sideways { set A b }; respond "x" }');
    assert.equal(b.code, 'GK_DSL_BAD_ARG');
  });
});
