import assert from 'node:assert/strict';
import { checkGate } from '../../test/helpers/gate.js';
import { balancer } from './balance.js';
import { rewriteLocations } from './headers.js';
import { stripPrefix, encodeUnsafe } from './target.js';
import { parseTarget, Upstream } from './upstream.js';

const codes = async (text: string) => (await checkGate(text, { file: '/srv/t.gate' })).map((d) => `${d.code} ${d.span.line}:${d.span.col}`);

describe('proxy: configuration', () => {
  it('accepts every option', async () => {
    assert.deepEqual(
      await codes(`server { listen 80; proxy http://a:1 https://b unix:/run/app.sock ws://c:2 wss://d {
      upstream http://e:3 { weight 5 }
      balance least_conn; keepalive 8; keepalive_timeout 20s; tls_insecure; preserve_host off; rewrite_location off
      header_up X-A $remote; header_up add X-B b; header_up remove Cookie
      header_down set Server gk; header_down add X-Upstream $upstream; header_down remove X-Powered-By
      retries 2; connect_timeout 1s; read_timeout 30s; send_timeout 30s; ws_idle_timeout 10m
      health_check /healthz { interval 2s; timeout 1s; expect 200 204 }
      max_fails 3 within 30s; fail_timeout 20s
    } }`),
      [],
    );
  });

  it('refuses a bad scheme, policy or duration at its position', async () => {
    assert.deepEqual(await codes('server { listen 80; proxy ftp://a:1 }'), ['GK_DSL_BAD_ARG 1:27']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a { balance fastest } }'), ['GK_DSL_BAD_ARG 1:46']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a { read_timeout soon } }'), ['GK_DSL_BAD_ARG 1:51']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a { upstream http://b { weight 0 } } }'), ['GK_DSL_BAD_ARG 1:65']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a { retry 2 } }'), ['GK_DSL_UNKNOWN_OPTION 1:38']);
  });

  it('reports what the schema cannot: no upstream, a path in an upstream, malformed header operations', async () => {
    assert.deepEqual(await codes('server { listen 80; proxy { balance first } }'), ['GK_PROXY_NO_UPSTREAM 1:21']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a:1/api }'), ['GK_PROXY_UPSTREAM_PATH 1:27']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a { header_up set X-A } }'), ['GK_PROXY_HEADER 1:52']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a { header_down remove X-A b } }'), ['GK_PROXY_HEADER 1:61']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a { header_up "X A" b } }'), ['GK_PROXY_HEADER 1:48']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a { strip_prefix api } }'), ['GK_PROXY_STRIP_PREFIX 1:51']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a { strip_prefix /a; rewrite /b } }'), ['GK_PROXY_REWRITE 1:63']);
    assert.deepEqual(await codes('server { listen 80; proxy http://a { health_check healthz } }'), ['GK_PROXY_HEALTH_PATH 1:51']);
  });

  it('refuses header rules on the headers that frame a message or manage its connection, and a second or no Host', async () => {
    for (const rule of [
      'header_up set Content-Length 0',
      'header_up remove Transfer-Encoding',
      'header_up add Connection close',
      'header_up set Keep-Alive x',
      'header_up set TE trailers',
      'header_up set Trailer X',
      'header_up set Upgrade h2c',
      'header_up set Expect x',
      'header_up add Host b',
      'header_up remove Host',
      'header_down set Content-Length 1',
      'header_down add Transfer-Encoding chunked',
      'header_down remove Connection',
    ]) {
      assert.deepEqual(
        await codes(`server { listen 80; proxy http://a { ${rule} } }`),
        [`GK_PROXY_HEADER 1:${38 + rule.indexOf(' ', rule.indexOf(' ') + 1) + 1}`],
        rule,
      );
    }
    assert.deepEqual(await codes('server { listen 80; proxy http://a { header_up set Host b; header_up Host c } }'), []);
  });

  it('refuses an unknown variable in a header value', async () => {
    assert.deepEqual(await codes('server { listen 80; proxy http://a { header_down X-U $upstreem } }'), ['GK_DSL_UNKNOWN_VARIABLE 1:54']);
  });
});

describe('proxy: upstream addresses', () => {
  it('reads tcp, tls and unix targets; relative unix paths start at the config file', () => {
    assert.deepEqual(parseTarget('http://127.0.0.1:9000', '/srv/t.gate'), { kind: 'tcp', tls: false, host: '127.0.0.1', port: 9000 });
    assert.deepEqual(parseTarget('wss://example.test', '/srv/t.gate'), { kind: 'tcp', tls: true, host: 'example.test', port: 443 });
    assert.deepEqual(parseTarget('http://[::1]:81', '/srv/t.gate'), { kind: 'tcp', tls: false, host: '::1', port: 81 });
    assert.deepEqual(parseTarget('unix:/run/app.sock', '/srv/t.gate'), { kind: 'unix', path: '/run/app.sock' });
    assert.deepEqual(parseTarget('unix:app.sock', '/srv/t.gate'), { kind: 'unix', path: '/srv/app.sock' });
  });

  it('names upstreams for $upstream and sends a Host without the default port', () => {
    const u = new Upstream(parseTarget('https://example.test', 'x'), 1);
    assert.deepEqual([u.key, u.hostHeader], ['example.test:443', 'example.test']);
    const v = new Upstream(parseTarget('http://[::1]:8080', 'x'), 1);
    assert.deepEqual([v.key, v.hostHeader], ['[::1]:8080', '[::1]:8080']);
  });
});

describe('proxy: balancers', () => {
  const ups = (...weights: number[]) => weights.map((w, i) => new Upstream({ kind: 'tcp', tls: false, host: `h${i}`, port: 80 }, w));
  const run = (pick: ReturnType<typeof balancer>, list: Upstream[], n: number, client = '1.2.3.4') =>
    Array.from({ length: n }, () => pick(list, client).target)
      .map((t) => (t as { host: string }).host)
      .join(' ');

  it("round_robin is nginx's smooth weighted round robin", () => {
    assert.equal(run(balancer('round_robin'), ups(5, 1, 1), 7), 'h0 h0 h1 h0 h2 h0 h0');
  });

  it('least_conn weighs requests in flight by weight', () => {
    const list = ups(1, 2);
    list[0].active = 1;
    list[1].active = 1;
    assert.equal(balancer('least_conn')(list, ''), list[1]);
    list[1].active = 3;
    assert.equal(balancer('least_conn')(list, ''), list[0]);
  });

  it('random follows the weights', () => {
    let i = 0;
    const seq = [0.1, 0.5, 0.9];
    assert.equal(
      run(
        balancer('random', () => seq[i++ % 3]),
        ups(1, 1, 1),
        3,
      ),
      'h0 h1 h2',
    );
  });

  it('ip_hash is stable per client', () => {
    const pick = balancer('ip_hash');
    const list = ups(1, 1, 1);
    assert.equal(new Set(run(pick, list, 5, '10.0.0.7').split(' ')).size, 1);
  });
});

describe('proxy: upstream paths', () => {
  it('rewrites Location and Refresh answers that name the upstream, and nothing else', () => {
    const up = new Upstream(parseTarget('http://Backend:80', '/srv/t.gate'), 1);
    assert.deepEqual(up.origins, ['http://backend:80', 'http://backend']);
    const run = (name: string, value: string, prefix = ''): string => rewriteLocations([name, value], up.origins, 'https://site.test', prefix)[1];
    assert.equal(run('Location', 'http://backend/a?b=1'), 'https://site.test/a?b=1');
    assert.equal(run('location', 'http://BACKEND:80'), 'https://site.test/');
    assert.equal(run('Location', 'http://backend/a', '/app'), 'https://site.test/app/a');
    assert.equal(run('Location', 'http://backend', '/app'), 'https://site.test/app/');
    assert.equal(run('Refresh', '5; url=http://backend/next'), '5; url=https://site.test/next');
    assert.equal(run('Location', 'http://backend:8080/a'), 'http://backend:8080/a', 'another port is another origin');
    assert.equal(run('Location', 'http://backendx/a'), 'http://backendx/a');
    assert.equal(run('Location', 'https://backend/a'), 'https://backend/a', 'another scheme is another origin');
    assert.equal(run('Location', '/relative'), '/relative');
    assert.equal(run('Content-Location', 'http://backend/a'), 'http://backend/a');
  });

  it('strips a prefix only at a segment boundary', () => {
    assert.equal(stripPrefix('/api/x', '/api'), '/x');
    assert.equal(stripPrefix('/api/x', '/api/'), '/x');
    assert.equal(stripPrefix('/api', '/api'), '/');
    assert.equal(stripPrefix('/apix', '/api'), '/apix');
    assert.equal(stripPrefix('/other', '/api'), '/other');
  });

  it('encodes only what may not appear raw in a request target', () => {
    assert.equal(encodeUnsafe('/a/b?x=1&y=%20'), '/a/b?x=1&y=%20');
    assert.equal(encodeUnsafe('/a b/é'), '/a%20b/%C3%A9');
    assert.equal(encodeUnsafe('/100%/x'), '/100%25/x');
  });
});
