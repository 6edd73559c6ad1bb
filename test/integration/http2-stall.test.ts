import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { HTTP2_DEFAULTS, http2Server } from '../../core/http2-listener.js';
import { openStreams } from '../../core/http2-stall.js';
import { silentLogger } from '../../core/logger.js';
import { selfSigned } from '../../plugins/tls/self-signed.js';
import { serve, type Served } from '../helpers/cli.js';
import { getSome, h2Ask, heldClient as client, type HeldClient as Client } from '../helpers/h2-client.js';
import { loadTestGate } from '../helpers/gate.js';

/** WINDOW is a stream's initial flow-control window (RFC 9113 6.9.2), which a client that reads nothing leaves the server. */
const WINDOW = 65_535;

/** within resolves with `p`, or fails with `what` once `ms` passed. */
async function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('HTTP/2 connections whose client stops reading', function () {
  this.timeout(30_000);
  const pair = selfSigned(['localhost']);
  const clients: Client[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.socket.destroy();
  });

  describe("a socket Node's session no longer reads (the kernel's listener, in this process)", () => {
    let tls: TlsServer | undefined;
    let h2: Http2Server | undefined;
    afterEach(async () => {
      tls?.close();
      tls = undefined;
      h2 = undefined;
    });

    /** listen serves `path /end` with "ok", and anything else with a body far past a stream's window, never ended, on the kernel's HTTP/2 server; it hands out each TLS connection. */
    async function listen(onSocket: (s: TLSSocket) => void = () => {}): Promise<number> {
      const global = (await loadTestGate('server { listen 127.0.0.1:0; respond "ok" }\n')).config!.global;
      h2 = http2Server(
        { ...global, keepaliveTimeout: 0 }, // nothing but the stall watch may close it
        HTTP2_DEFAULTS,
        (req, res) => void (req.url === '/end' ? res.end('ok') : res.write(Buffer.alloc(1 << 20, 'b'))),
        () => {},
        silentLogger,
      );
      const server = createTlsServer({ key: pair.key, cert: pair.cert, ALPNProtocols: ['h2'] }, (s) => {
        s.on('error', () => {}); // the client's reset, once seen
        onSocket(s);
        h2!.emit('connection', s);
      });
      tls = server;
      await once(server.listen(0, '127.0.0.1'), 'listening');
      return (server.address() as { port: number }).port;
    }

    it('a client that stops reading and then resets its connection is found and its session closed within two seconds', async () => {
      let socket: TLSSocket | undefined;
      const port = await listen((s) => (socket = s));
      const session = new Promise<ServerHttp2Session>((resolve) => h2!.once('session', resolve));
      const c = client(`https://127.0.0.1:${port}`);
      clients.push(c);
      const stream = await getSome(c.session, '/big');
      stream.pause(); // the rest waits on a window the client does not open
      const server = await session;
      const closed = new Promise((resolve) => server.once('close', resolve)); // after its 'error', the reset
      // what Node 20's TLS layer leaves after a write failed with ECONNRESET: nothing reads the socket, no write is queued
      (socket as unknown as { _handle: { readStop(): number } })._handle.readStop();
      c.socket.resetAndDestroy();
      await within(closed, 3000, () => 'the session of a client that reset is still open 3 s later');
    });
    it('forgets the streams that closed, answered or reset by the client, so that a long-lived connection holds none of them', async () => {
      const port = await listen();
      const session = new Promise<ServerHttp2Session>((resolve) => h2!.once('session', resolve));
      const closes: Promise<unknown>[] = [];
      h2!.on('stream', (stream: ServerHttp2Stream) => closes.push(new Promise((resolve) => stream.once('close', resolve))));
      const c = client(`https://127.0.0.1:${port}`);
      clients.push(c);
      for (let i = 0; i < 3; i++) assert.equal((await h2Ask(c.session, { path: '/end' })).body.toString(), 'ok');
      (await getSome(c.session, '/big')).close(constants.NGHTTP2_CANCEL);
      await within(Promise.all(closes), 3000, () => 'the server streams did not all close');
      assert.equal(closes.length, 4);
      assert.equal(openStreams(await session), 0);
    });
  });

  describe('send_timeout (gatekit run)', () => {
    let dir: string;
    let served: Served | undefined;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'gatekit-h2-stall-'));
      writeFileSync(join(dir, 'c.pem'), pair.cert);
      writeFileSync(join(dir, 'c.key'), pair.key);
      writeFileSync(join(dir, 'big'), Buffer.alloc(512 * 1024, 'b')); // eight times a stream's window
      writeFileSync(join(dir, 'late.mjs'), "export default (req, res) => { setTimeout(() => res.end('late'), 4000); };\n");
    });
    afterEach(async () => {
      await served?.stop();
      served = undefined;
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    async function start(): Promise<number> {
      const file = join(dir, 'g.gate');
      writeFileSync(
        file,
        `global { workers 0; send_timeout 1s }
         server {
           listen 127.0.0.1:0 tls
           tls { cert ${dir}/c.pem; key ${dir}/c.key }
           route /late { app ${join(dir, 'late.mjs')} }
           static ${dir}
         }\n`,
      );
      served = serve(['run', file], { env: { TMPDIR: dir } });
      const [, port] = await served.waitFor(/listening .*?url=https:\/\/127\.0\.0\.1:(\d+)/);
      return Number(port);
    }

    it('closes the connection of a client that accepts nothing for send_timeout, with one log line', async () => {
      const c = client(`https://127.0.0.1:${await start()}`);
      clients.push(c);
      const stream = await getSome(c.session, '/big');
      stream.pause(); // alive, connected, and never opens the window again
      await within(once(c.session, 'close'), 5000, () => `the stalled connection is still open 5 s later:\n${served!.output()}`);
      assert.match(served!.output(), /info client timed out while sending the response .*streams=1/);
    });

    it('keeps a stream whose handler is quiet past send_timeout, and a slow client that reads a little at a time', async () => {
      const c = client(`https://127.0.0.1:${await start()}`);
      clients.push(c);
      // first alone on its connection: nothing is sent for 4 s, and nothing waits to be sent
      assert.equal((await h2Ask(c.session, { path: '/late' })).body.toString(), 'late');
      const got = await new Promise<number>((resolve, reject) => {
        let n = 0;
        const stream = c.session.request({ ':path': '/big' });
        stream.on('data', (chunk: Buffer) => {
          const before = n;
          n += chunk.length;
          if (Math.floor(before / WINDOW) === Math.floor(n / WINDOW)) return;
          stream.pause(); // a pause after each window's worth: well under send_timeout
          setTimeout(() => stream.resume(), 300);
        });
        stream.on('end', () => resolve(n));
        stream.on('error', reject);
      });
      assert.equal(got, 512 * 1024);
      assert.doesNotMatch(served!.output(), /timed out/);
    });
  });
});
