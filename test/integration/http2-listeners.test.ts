import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { selfSigned } from '../../plugins/tls/self-signed.js';
import { checkGate, startGate, type TestGate } from '../helpers/gate.js';
import { h1Ask, h2Ask, h2Session } from '../helpers/h2-client.js';
import { frame, FRAME, getBlock, literal, RawH2 } from '../helpers/h2-frames.js';

const run = promisify(execFile);

/** alpn is the protocol a TLS handshake offering h2 and http/1.1 settles on. */
function alpn(port: number, servername: string): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve(s.alpnProtocol ?? false);
      s.end();
    });
    s.on('error', reject);
  });
}

describe('HTTP/2 listeners', function () {
  this.timeout(20_000);
  let dir: string;
  let gate: TestGate | undefined;
  const tlsBlock = (): string => `tls { cert ${dir}/c.pem; key ${dir}/c.key }`;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-h2-listen-'));
    const pair = selfSigned(['localhost']);
    writeFileSync(join(dir, 'c.pem'), pair.cert);
    writeFileSync(join(dir, 'c.key'), pair.key);
    // answers its head at once and its body's end a moment later: a stream in flight
    writeFileSync(
      join(dir, 'slow.mjs'),
      "export default (req, res) => { res.writeHead(200); res.write('finished '); setTimeout(() => res.end('after the drain began'), 300); };\n",
    );
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a tls address offers h2 first; http2 off on the listen line or in the server leaves HTTP/1.1 alone', async () => {
    // three servers on one address: ALPN follows the server the SNI name picks
    gate = await startGate(`server { listen 127.0.0.1:0 tls; ${tlsBlock()}; respond "on" }
      server line.test { listen 127.0.0.1:0 tls http2 off; ${tlsBlock()}; respond "line off" }
      server block.test { listen 127.0.0.1:0 tls; http2 off; ${tlsBlock()}; respond "server off" }`);
    const on = gate.port;
    assert.deepEqual([await alpn(on, 'localhost'), await alpn(on, 'line.test'), await alpn(on, 'block.test')], ['h2', 'http/1.1', 'http/1.1']);
    const { stdout } = await run('curl', ['-sk', '--http2', '-w', ' %{http_version}', `https://localhost:${on}/`]);
    assert.equal(stdout, 'on 2');
    const old = await run('curl', ['-sk', '--http1.1', '-w', ' %{http_version}', `https://localhost:${on}/`]);
    assert.equal(old.stdout, 'on 1.1');
  });

  it('an h2c address speaks HTTP/2 by prior knowledge and by Upgrade: h2c, and plain HTTP/1.1 still', async () => {
    gate = await startGate('server { listen 127.0.0.1:0 h2c; respond "clear $scheme" }');
    const url = `http://127.0.0.1:${gate.port}/`;
    const prior = await run('curl', ['-s', '--http2-prior-knowledge', '-w', ' %{http_version}', url]);
    assert.equal(prior.stdout, 'clear http 2');
    const upgraded = await run('curl', ['-s', '--http2', '-w', ' %{http_version}', `${url}?via=upgrade`]);
    assert.equal(upgraded.stdout, 'clear http 2');
    const nghttp = await run('nghttp', ['-u', url]);
    assert.equal(nghttp.stdout, 'clear http');
    assert.equal((await h1Ask(url, { path: '/' })).body.toString(), 'clear http');
  });

  it('refuses http2 on a listen line without tls, and an address listed with and without h2c', async () => {
    const d1 = await checkGate('server { listen 8080 http2 off; respond x }');
    assert.match(d1.map((d) => d.message).join('\n'), /'http2' on a listen line needs tls/);
    const d2 = await checkGate('server a.test { listen 8080 h2c; respond x }\nserver b.test { listen 8080; respond y }');
    assert.match(d2.map((d) => d.message).join('\n'), /listed both with and without h2c/);
  });

  it('does not advertise extended CONNECT: browsers open WebSockets over HTTP/1.1, which the same address serves', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0 tls; ${tlsBlock()}
      route /ws/ { app ${join(process.cwd(), 'plugins/app/testdata/ws-app.mjs')} }
      respond "ok" }`);
    const session = await h2Session(`https://localhost:${gate.port}`);
    await new Promise<void>((resolve) => {
      if (session.remoteSettings.maxConcurrentStreams !== undefined) resolve();
      else session.once('remoteSettings', () => resolve());
    });
    assert.notEqual(session.remoteSettings.enableConnectProtocol, true);
    assert.equal(
      (
        await h2Ask(session, { method: 'CONNECT', path: '', headers: { ':authority': 'localhost', ':path': undefined, ':scheme': undefined } as never }).catch(
          () => ({ status: 0 }),
        )
      ).status !== 200,
      true,
    );
    session.close();
    const ws = new WebSocket(`wss://localhost:${gate.port}/ws/`, { rejectUnauthorized: false });
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('ping over http/1.1'));
      ws.on('message', (m: Buffer) => {
        if (m.toString().startsWith('echo')) resolve(m.toString());
      });
      ws.on('error', reject);
    });
    ws.close();
    assert.equal(echoed, 'echo: ping over http/1.1');
  });

  it('on stop, sends GOAWAY and lets a stream in flight finish within graceful_timeout', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0 tls; ${tlsBlock()}; route /slow/ { app ${join(dir, 'slow.mjs')} } }`);
    const session = await h2Session(`https://localhost:${gate.port}`);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    const stream = session.request({ ':path': '/slow/' });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => {
      body += c;
    });
    const ended = new Promise<void>((resolve) => stream.on('end', resolve));
    await new Promise((resolve) => stream.once('response', resolve)); // the app has the request, and answers slowly
    const closing = gate.gate.close(5000);
    assert.equal(await goaway, 0);
    await ended;
    assert.equal(body, 'finished after the drain began');
    await closing;
    gate = undefined;
  });
});

describe('HTTP/2 limits and attacks, each from a raw client', function () {
  this.timeout(20_000);
  let gate: TestGate;
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  /** stillServes checks that the gate answers a new connection after an attack. */
  const stillServes = async (): Promise<void> => {
    const s = await h2Session(`http://127.0.0.1:${gate.port}`);
    assert.equal((await h2Ask(s, { path: '/' })).body.toString(), 'alive');
    s.close();
  };

  before(async () => {
    gate = await startGate(`global { request_timeout 1s; keepalive_timeout 2s; http2_max_concurrent_streams 8 }
      server { listen 127.0.0.1:0 h2c; route /upload/ { wsgi apps:application { chdir ${join(process.cwd(), 'plugins/wsgi/testdata')} } }; respond "alive" }`);
  });
  after(async () => {
    await gate?.close();
  });

  it('advertises its stream and header-list limits, and no extended CONNECT', async () => {
    const c = await RawH2.open(gate.port);
    const settings = await c.until((f) => f.type === FRAME.settings && (f.flags & 1) === 0);
    const values = new Map<number, number>();
    for (let i = 0; i + 6 <= settings.payload.length; i += 6) values.set(settings.payload.readUInt16BE(i), settings.payload.readUInt32BE(i + 2));
    assert.equal(values.get(0x3), 8);
    assert.equal(values.get(0x6), 32 * 1024);
    assert.notEqual(values.get(0x8), 1); // no extended CONNECT
    c.close();
  });

  it('rapid reset (CVE-2023-44487): the connection closes, after a GOAWAY with an error code if any', async () => {
    const c = await RawH2.open(gate.port);
    for (let i = 0, id = 1; i < 3000 && c.send(frame(FRAME.headers, 5, id, getBlock()), frame(FRAME.rst, 0, id, Buffer.from([0, 0, 0, 8]))); i++, id += 2) {
      if (i % 100 === 0) await wait(1);
    }
    // Node 20 (nghttp2 1.61) sends GOAWAY (INTERNAL_ERROR) first; Node 24 (nghttp2 1.70) fails the
    // session on the flood and closes the connection with no GOAWAY: either way the client is cut
    await c.closed; // at the latest when keepalive_timeout finds it idle
    assert.notEqual(c.goaway(), 0);
    await stillServes();
  });

  it('CONTINUATION flood (CVE-2024-27316): the connection is closed', async () => {
    const c = await RawH2.open(gate.port);
    c.send(frame(FRAME.headers, 0, 1, getBlock()));
    for (let i = 0; i < 10_000 && c.send(frame(FRAME.continuation, 0, 1, literal('x-a', 'b'))); i++) if (i % 100 === 0) await wait(1);
    await c.closed;
    await stillServes();
  });

  for (const [name, type, payload] of [
    ['SETTINGS', FRAME.settings, Buffer.alloc(0)],
    ['PING', FRAME.ping, Buffer.alloc(8)],
  ] as const) {
    it(`${name} flood from a client that reads nothing: the connection is closed`, async () => {
      const c = await RawH2.open(gate.port);
      c.socket.pause(); // the acknowledgements pile up on the server's side
      for (let i = 0; i < 20_000 && c.send(frame(type, 0, 0, payload)); i++) if (i % 500 === 0) await wait(1);
      c.socket.resume();
      await c.closed;
      await stillServes();
    });
  }

  it('HPACK bomb: a header list past the limit resets its stream, and the connection serves on', async () => {
    const c = await RawH2.open(gate.port);
    const value = Buffer.alloc(4000, 'a');
    const n = value.length - 127; // a 7-bit-prefix integer: 127, then the rest in 7-bit groups
    const insert = Buffer.concat([Buffer.of(0x40, 3), Buffer.from('x-b'), Buffer.of(0x7f, (n & 0x7f) | 0x80, n >> 7), value]);
    const refs = Buffer.alloc(3000, 0x80 | 62); // 3000 references to the 4 KB entry: 12 MB uncompressed
    c.send(frame(FRAME.headers, 5, 1, Buffer.concat([getBlock(), insert, refs])));
    const rst = await c.until((f) => f.type === FRAME.rst || f.type === FRAME.goaway);
    assert.ok(rst.type === FRAME.rst || rst.payload.readUInt32BE(4) !== 0);
    c.close();
    await stillServes();
  });

  it('a stream that never sends its body gets 408 after request_timeout and is closed; others are served meanwhile', async () => {
    const c = await RawH2.open(gate.port);
    const post = Buffer.concat([
      literal(':method', 'POST'),
      literal(':scheme', 'http'),
      literal(':path', '/upload/upload'),
      literal(':authority', 'localhost'),
    ]);
    c.send(frame(FRAME.headers, 4 /* END_HEADERS, no END_STREAM */, 1, post));
    await stillServes();
    await c.until((f) => f.type === FRAME.headers && f.stream === 1);
    await c.until((f) => f.type === FRAME.rst && f.stream === 1);
    assert.ok(
      gate.logs.some((l) => /request body timed out .*status=408/.test(l)),
      gate.logs.join('\n'),
    );
    c.close();
  });
});
