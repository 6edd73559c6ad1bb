import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawRequest } from '../helpers/raw-http.js';
import { echo, selfSignedPair, send, upstream, waitFor, type TestUpstream } from './proxy-upstreams.js';

describe('proxy: forwarding', () => {
  let gate: TestGate | undefined;
  let ups: TestUpstream[] = [];
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await Promise.all(ups.map((u) => u.close()));
    ups = [];
  });
  const start = async (...us: TestUpstream[]) => {
    ups.push(...us);
    return us;
  };

  it('passes method, path, query and body, and answers with the upstream status, headers and body', async () => {
    const [a] = await start(await upstream(echo('a')));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} }`);
    const r = await send(gate.port, '/some/path?x=1&y=%20', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const seen = JSON.parse(r.body);
    assert.deepEqual([seen.method, seen.url, seen.body, seen.headers['content-type']], ['POST', '/some/path?x=1&y=%20', 'hello', 'text/plain']);
  });

  it('removes hop-by-hop headers both ways, and those named in Connection', async () => {
    const [a] = await start(
      await upstream((req, res) => {
        res.writeHead(200, {
          'x-seen': Object.keys(req.headers).sort().join(','),
          connection: 'x-secret-down',
          'x-secret-down': '1',
          'keep-alive': 'timeout=5',
          'x-kept': 'yes',
        });
        res.end('ok');
      }),
    );
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} }`);
    const r = await rawRequest(
      gate.port,
      'GET / HTTP/1.1\r\nHost: site.test\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 300\r\nProxy-Connection: keep-alive\r\nTE: gzip\r\nUpgrade-Insecure-Requests: 1\r\nX-Other: 2\r\n\r\n',
    );
    assert.equal(r.status, 200);
    const seen = /x-seen: (.*)\r\n/i.exec(r.text)![1].split(',');
    for (const h of ['x-secret', 'keep-alive', 'proxy-connection', 'te']) assert.ok(!seen.includes(h), `${h} was forwarded`);
    for (const h of ['x-other', 'upgrade-insecure-requests', 'host', 'x-forwarded-for']) assert.ok(seen.includes(h), `${h} was not forwarded`);
    assert.doesNotMatch(r.text, /x-secret-down|keep-alive: timeout/i);
    assert.match(r.text, /x-kept: yes/i);
  });

  it('appends X-Forwarded-For, sets X-Forwarded-Proto, X-Forwarded-Host and X-Real-IP, and keeps Host by default', async () => {
    const [a] = await start(await upstream(echo('a')));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} }`);
    const r = await send(gate.port, '/', {
      headers: { host: 'site.test:8080', 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'https', 'x-real-ip': '6.6.6.6' },
    });
    const h = JSON.parse(r.body).headers;
    assert.deepEqual(
      [h.host, h['x-forwarded-for'], h['x-forwarded-proto'], h['x-forwarded-host'], h['x-real-ip']],
      ['site.test:8080', '10.0.0.1, 127.0.0.1', 'http', 'site.test:8080', '127.0.0.1'],
    );
  });

  it("sends the upstream's host with preserve_host off", async () => {
    const [a] = await start(await upstream(echo('a')));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} { preserve_host off } }`);
    const r = await send(gate.port, '/', { headers: { host: 'site.test' } });
    assert.equal(JSON.parse(r.body).headers.host, `127.0.0.1:${a.port}`);
  });

  it('sets, adds and removes headers both ways with request variables', async () => {
    const [a] = await start(
      await upstream((req, res) => {
        res.setHeader('x-seen', JSON.stringify(req.headers));
        res.setHeader('server', 'upstream/1.0');
        res.setHeader('x-many', ['1', '2']);
        res.end('ok');
      }),
    );
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} {
      header_up X-Path $path
      header_up add X-Multi one
      header_up add X-Multi two
      header_up remove Cookie
      header_up set User-Agent "gate ($method)"
      header_down Server gatekit
      header_down add X-Upstream $upstream
      header_down remove X-Many
    } }`);
    const r = await send(gate.port, '/a%20b', { headers: { cookie: 'sid=1', 'user-agent': 'curl' } });
    const seen = JSON.parse(r.headers['x-seen'] as string);
    assert.deepEqual([seen['x-path'], seen['x-multi'], seen.cookie, seen['user-agent']], ['/a b', 'one, two', undefined, 'gate (GET)']);
    assert.deepEqual([r.headers.server, r.headers['x-upstream'], r.headers['x-many']], ['gatekit', `127.0.0.1:${a.port}`, undefined]);
  });

  it('strips the route prefix, or a given one, and rewrites the path keeping the query', async () => {
    const [a] = await start(await upstream(echo('a')));
    gate = await startGate(`server { listen 127.0.0.1:0
      route /api/ { proxy ${a.url} { strip_prefix } }
      route /v1/ { proxy ${a.url} { strip_prefix /v1/users } }
      route ~ ^/old/(.*)$ { proxy ${a.url} { rewrite /new/$1 } }
      route /q/ { proxy ${a.url} { rewrite "/fixed?only=this" } }
    }`);
    const url = async (p: string) => JSON.parse((await send(gate!.port, p)).body).url;
    assert.equal(await url('/api/users/7?x=1'), '/users/7?x=1');
    assert.equal(await url('/api/'), '/');
    assert.equal(await url('/v1/users/7'), '/7');
    assert.equal(await url('/v1/usersx'), '/v1/usersx');
    assert.equal(await url('/old/a/b?k=v'), '/new/a/b?k=v');
    assert.equal(await url('/q/x?k=v'), '/fixed?only=this');
  });

  it('sends the path as the client wrote it, or the normalised one when the kernel had to clean it', async () => {
    const [a] = await start(await upstream(echo('a')));
    gate = await startGate(`server { listen 127.0.0.1:0; route /pub/ { proxy ${a.url} }; route / { respond 403 } }`);
    const r1 = await rawRequest(gate.port, 'GET /pub/a%2Fb%20c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(r1.text, /"url":"\/pub\/a%2Fb%20c"/);
    const r2 = await rawRequest(gate.port, 'GET /secret/../pub//x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(r2.text, /"url":"\/pub\/x"/);
  });

  it('proxies to a unix socket upstream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gk-proxy-'));
    try {
      const [a] = await start(await upstream(echo('unix'), { at: join(dir, 'app.sock') }));
      gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} { preserve_host off } }`);
      const r = await send(gate.port, '/x');
      assert.deepEqual([JSON.parse(r.body).name, JSON.parse(r.body).headers.host], ['unix', 'localhost']);
    } finally {
      await Promise.all(ups.map((u) => u.close()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('proxies to an https upstream with a self-signed certificate only with tls_insecure', async () => {
    const [a] = await start(await upstream(echo('tls'), { tls: selfSignedPair() }));
    gate = await startGate(`server { listen 127.0.0.1:0
      route /strict/ { proxy ${a.url} }
      route / { proxy ${a.url} { tls_insecure } }
    }`);
    assert.equal(JSON.parse((await send(gate.port, '/ok')).body).name, 'tls');
    assert.equal((await send(gate.port, '/strict/')).status, 502);
    assert.ok(
      gate.logs.some((l) => /error \[proxy\] upstream connect failed .*upstream=127\.0\.0\.1/.test(l)),
      gate.logs.join('\n'),
    );
  });

  it('reuses upstream connections (keepalive), and closes each with keepalive 0', async () => {
    const [a, b] = await start(await upstream(echo('a')), await upstream(echo('b')));
    gate = await startGate(`server { listen 127.0.0.1:0; route /a { proxy ${a.url} }; route /b { proxy ${b.url} { keepalive 0 } } }`);
    for (let i = 0; i < 10; i++) assert.equal((await send(gate.port, '/a')).status, 200);
    for (let i = 0; i < 10; i++) assert.equal((await send(gate.port, '/b')).status, 200);
    assert.equal(a.connections, 1);
    assert.equal(b.connections, 10);
  });

  it('passes chunked bodies and trailers both ways', async () => {
    const [a] = await start(
      await upstream((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          res.writeHead(200, { trailer: 'x-checksum', 'x-got-trailer': req.trailers['x-client-sum'] ?? 'none' });
          res.write(`got ${Buffer.concat(chunks).toString()};`);
          res.write('more');
          res.addTrailers({ 'x-checksum': 'abc123' });
          res.end();
        });
      }),
    );
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} }`);
    const reply = await new Promise<{ te: string | undefined; body: string; trailers: NodeJS.Dict<string>; got: unknown }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gate!.port, method: 'POST', path: '/', agent: false, headers: { trailer: 'x-client-sum' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ te: res.headers['transfer-encoding'], body, trailers: res.trailers, got: res.headers['x-got-trailer'] }));
      });
      req.on('error', reject);
      req.write('part1,');
      req.write('part2');
      req.addTrailers({ 'x-client-sum': 'zzz' });
      req.end();
    });
    assert.deepEqual(reply, { te: 'chunked', body: 'got part1,part2;more', trailers: { 'x-checksum': 'abc123' }, got: 'zzz' });
  });

  it('passes HEAD, 204 and 304 answers without a body', async () => {
    const [a] = await start(
      await upstream((req, res) => {
        if (req.url === '/none') {
          res.writeHead(204);
          res.end();
          return;
        }
        if (req.headers['if-none-match'] === '"v1"') {
          res.writeHead(304, { etag: '"v1"' });
          res.end();
          return;
        }
        res.writeHead(200, { etag: '"v1"', 'content-length': 5 });
        res.end(req.method === 'HEAD' ? undefined : 'hello');
      }),
    );
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} }`);
    const head = await send(gate.port, '/', { method: 'HEAD' });
    assert.deepEqual([head.status, head.headers['content-length'], head.body], [200, '5', '']);
    const none = await send(gate.port, '/none');
    assert.deepEqual([none.status, none.body], [204, '']);
    const cached = await send(gate.port, '/', { headers: { 'if-none-match': '"v1"' } });
    assert.deepEqual([cached.status, cached.headers.etag, cached.body], [304, '"v1"', '']);
  });

  it('sets $upstream for the access log and releases every pooled connection on close', async () => {
    const [a] = await start(await upstream(echo('a')));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} }`);
    for (let i = 0; i < 3; i++) await send(gate.port, '/');
    assert.equal(a.open.size, 1);
    await gate.close();
    gate = undefined;
    await waitFor(() => a.open.size === 0, 1000, 'pooled connections to close');
  });
});
