import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { ClientHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { selfSigned } from '../../plugins/tls/self-signed.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { h1Ask, h2Ask, h2Session, type Answer, type Ask } from '../helpers/h2-client.js';
import { repoPath } from '../helpers/paths.js';
import { hasPython3, waitForLog } from './wsgi-gate.js';

/** NOT_COMPARED are the fields that differ by protocol or by the moment, not by what was served. */
const NOT_COMPARED = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

function comparable(a: Answer): { status: number; headers: Record<string, unknown>; body: string; trailers: Record<string, unknown> } {
  const headers = Object.fromEntries(
    Object.entries(a.headers)
      .filter(([k]) => !NOT_COMPARED.has(k))
      .sort(([x], [y]) => x.localeCompare(y)),
  );
  // error bodies name their request's id, which differs from one request to the next
  const body = a.body.toString('latin1').replace(/request id: \w+/, 'request id: -');
  return { status: a.status, headers, body, trailers: Object.fromEntries(Object.entries(a.trailers)) };
}

/** upstream is an HTTP/1.1 server to proxy to: echoes requests, streams, and sends trailers. */
function upstream(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (req.url === '/proxy/trailers') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write('part one, ');
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end('part two');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes', connection: 'keep-alive', 'keep-alive': 'timeout=5' });
      res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, proto: req.headers['x-forwarded-proto'], body }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const python = hasPython3();

describe('HTTP/2 and HTTP/1.1 give the same answers', function () {
  this.timeout(30_000);
  let dir: string;
  let up: Server;
  let gate: TestGate;
  let session: ClientHttp2Session;
  let origin: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-h2-parity-'));
    const pair = selfSigned(['localhost']);
    writeFileSync(join(dir, 'c.pem'), pair.cert);
    writeFileSync(join(dir, 'c.key'), pair.key);
    mkdirSync(join(dir, 'public'));
    writeFileSync(join(dir, 'public', 'a.txt'), 'hello, static world\n');
    const css = 'body { color: red }\n'.repeat(200);
    writeFileSync(join(dir, 'public', 'big.css'), css);
    writeFileSync(join(dir, 'public', 'big.css.gz'), gzipSync(css));
    mkdirSync(join(dir, 'cgi-bin'));
    writeFileSync(
      join(dir, 'cgi-bin', 'echo.sh'),
      '#!/bin/sh\nprintf "Content-Type: text/plain\\nX-Script: echo\\n\\n"\necho "$REQUEST_METHOD $CONTENT_LENGTH $QUERY_STRING"\ncat\n',
    );
    writeFileSync(join(dir, 'cgi-bin', 'proto.sh'), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n$SERVER_PROTOCOL"\n');
    writeFileSync(
      join(dir, 'cgi-bin', 'nph-raw.sh'),
      "#!/bin/sh\nprintf 'HTTP/1.1 203 Raw Answer\\r\\nX-Nph: yes\\r\\nConnection: close\\r\\nContent-Type: text/plain\\r\\n\\r\\nraw body\\n'\n",
    );
    writeFileSync(
      join(dir, 'cgi-bin', 'nph-chunked.sh'),
      "#!/bin/sh\nprintf 'HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n4\\r\\nbody\\r\\n0\\r\\n\\r\\n'\n",
    );
    for (const f of ['echo.sh', 'proto.sh', 'nph-raw.sh', 'nph-chunked.sh']) chmodSync(join(dir, 'cgi-bin', f), 0o755);
    up = await upstream();
    const upPort = (up.address() as AddressInfo).port;
    const wsgi = repoPath('plugins', 'wsgi', 'testdata');
    const asgi = repoPath('plugins', 'asgi', 'testdata');
    const apps = repoPath('plugins', 'app', 'testdata');
    gate = await startGate(
      `server {
      listen 127.0.0.1:0 tls
      tls { cert ./c.pem; key ./c.key }
      log { format "$protocol $status $uri"; to ./access.log }
      route /static/ { static ./public { precompressed gzip } }
      route = /redirect { redirect 301 /static/a.txt }
      route = /respond { respond 201 "made\\n" }
      route /proxy/ { proxy http://127.0.0.1:${upPort} }
      route /cgi-bin/ { cgi ./cgi-bin }
      ${
        python
          ? `route /wsgi/ { wsgi apps:application { chdir ${wsgi} } }
      route /asgi/ { asgi apps:application { chdir ${asgi} } }`
          : ''
      }
      route /plain/ { app ${apps}/plain.mjs }
      route /fetch/ { app ${apps}/fetch.mjs }
      route /gz/ { compress { gzip; min_size 10B }; respond 200 "${'compress me please '.repeat(20)}" }
      route /private/ { auth bearer { token s3cret-token-0123456789 alice }; respond 200 "hello $user" }
      route /hdr/ { headers { set X-Frame-Options DENY; remove X-Powered-By }; respond 200 "with headers" }
      route /limited/ { limit { body 10B }; proxy http://127.0.0.1:${upPort} }
    }`,
      { file: join(dir, 't.gate') },
    );
    origin = `https://localhost:${gate.port}`;
    session = await h2Session(origin);
  });

  after(async () => {
    session?.close();
    await gate?.close();
    await new Promise((r) => up?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, Ask][] = [
    ['static file', { path: '/static/a.txt' }],
    ['static range', { path: '/static/a.txt', headers: { range: 'bytes=1-4' } }],
    ['static conditional (304)', { path: '/static/a.txt', headers: { 'if-modified-since': new Date(Date.now() + 86_400_000).toUTCString() } }],
    ['static precompressed', { path: '/static/big.css', headers: { 'accept-encoding': 'gzip' } }],
    ['static 404', { path: '/static/none.txt' }],
    ['redirect', { path: '/redirect' }],
    ['respond', { path: '/respond' }],
    ['respond to HEAD', { method: 'HEAD', path: '/respond' }],
    ['proxy, body both ways', { method: 'POST', path: '/proxy/echo?x=1', headers: { 'content-type': 'text/plain' }, body: ['one ', 'two ', 'three'] }],
    ['proxy trailers', { path: '/proxy/trailers', headers: { te: 'trailers' } }],
    ['cgi with a body', { method: 'POST', path: '/cgi-bin/echo.sh?q=2', headers: { 'content-length': '9' }, body: 'body text' }],
    ['app listener', { method: 'PUT', path: '/plain/x', body: 'to the app' }],
    ['app fetch', { path: '/fetch/', headers: { 'x-custom': 'c' } }],
    ['app fetch stream', { path: '/fetch/stream' }],
    ['compress', { path: '/gz/', headers: { 'accept-encoding': 'gzip' } }],
    ['auth refused', { path: '/private/' }],
    ['auth accepted', { path: '/private/', headers: { authorization: 'Bearer s3cret-token-0123456789' } }],
    ['headers', { path: '/hdr/' }],
    ['limit body (413)', { method: 'POST', path: '/limited/', headers: { 'content-length': '20' }, body: 'x'.repeat(20) }],
    ...(python
      ? [['wsgi', { path: '/wsgi/' }] as [string, Ask], ['asgi', { method: 'POST', path: '/asgi/echo', body: ['piece one ', 'piece two'] }] as [string, Ask]]
      : []),
  ];

  for (const [name, ask] of cases) {
    it(`${name}: same status, headers and body`, async () => {
      const h2 = await h2Ask(session, ask);
      const h1 = await h1Ask(origin, ask);
      // the app listener counts the requests it served: that one field may differ
      const strip = (a: Answer): ReturnType<typeof comparable> => {
        const c = comparable(a);
        return ask.path.startsWith('/plain/')
          ? { ...c, body: c.body.replace(/"served":\d+,"pid":\d+/, ''), headers: { ...c.headers, 'content-length': undefined } }
          : c;
      };
      assert.deepEqual(strip(h2), strip(h1));
    });
  }

  it('proxy: an HTTP/1.1 upstream gets the body, Host and scheme alike; its connection fields never reach an HTTP/2 client', async () => {
    const a = await h2Ask(session, { method: 'POST', path: '/proxy/echo', body: 'streamed' });
    const seen = JSON.parse(a.body.toString()) as Record<string, string>;
    assert.deepEqual(
      { method: seen.method, body: seen.body, host: seen.host, proto: seen.proto },
      { method: 'POST', body: 'streamed', host: `localhost:${gate.port}`, proto: 'https' },
    );
    assert.equal(a.headers.connection, undefined);
    assert.equal(a.headers['keep-alive'], undefined);
  });

  it('cgi sees SERVER_PROTOCOL HTTP/2.0, as Nginx sets it', async () => {
    assert.equal((await h2Ask(session, { path: '/cgi-bin/proto.sh' })).body.toString(), 'HTTP/2.0');
    assert.equal((await h1Ask(origin, { path: '/cgi-bin/proto.sh' })).body.toString(), 'HTTP/1.1');
  });

  it('cgi: an nph- script answers over HTTP/2 with the status and fields it wrote (its head read, its connection fields dropped)', async () => {
    const a = await h2Ask(session, { path: '/cgi-bin/nph-raw.sh' });
    assert.deepEqual(
      [a.status, a.headers['x-nph'], a.headers['content-type'], a.headers.connection, a.body.toString()],
      [203, 'yes', 'text/plain', undefined, 'raw body\n'],
    );
    const h1 = await h1Ask(origin, { path: '/cgi-bin/nph-raw.sh' });
    assert.deepEqual([h1.status, h1.headers['x-nph'], h1.body.toString()], [203, 'yes', 'raw body\n']);
    // a body framed in HTTP/1.1 chunks cannot be re-sent as it is: 502, and a line naming the script
    assert.equal((await h2Ask(session, { path: '/cgi-bin/nph-chunked.sh' })).status, 502);
    assert.ok(
      gate.logs.some((l) => /CGI script \/nph-chunked\.sh sent a bad header: an nph- script's chunked body cannot go on an HTTP\/2 stream/.test(l)),
      gate.logs.join('\n'),
    );
  });

  it('log writes $protocol HTTP/2.0 for an HTTP/2 request', async () => {
    await h2Ask(session, { path: '/respond?logged=h2' });
    await h1Ask(origin, { path: '/respond?logged=h1' });
    const lines = (): string[] => readFileSync(join(dir, 'access.log'), 'utf8').split('\n');
    const until = Date.now() + 5000;
    while (!lines().some((l) => l.includes('logged=h1')) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.ok(lines().includes('HTTP/2.0 201 /respond?logged=h2'), lines().join('\n'));
    assert.ok(lines().includes('HTTP/1.1 201 /respond?logged=h1'), lines().join('\n'));
  });

  (python ? it : it.skip)('wsgi sees SERVER_PROTOCOL HTTP/2 and asgi http_version "2"', async () => {
    const environ = JSON.parse((await h2Ask(session, { path: '/wsgi/environ' })).body.toString()) as Record<string, string>;
    assert.equal(environ.SERVER_PROTOCOL, 'HTTP/2');
    const scope = JSON.parse((await h2Ask(session, { path: '/asgi/scope' })).body.toString()) as Record<string, string>;
    assert.equal(scope.http_version, '2');
    assert.equal(JSON.parse((await h1Ask(origin, { path: '/asgi/scope' })).body.toString()).http_version, '1.1');
    void waitForLog;
  });
});
