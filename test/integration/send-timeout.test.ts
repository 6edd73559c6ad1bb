import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSigned } from '../../plugins/tls/self-signed.js';
import { serve, type Served } from '../helpers/cli.js';

/** BIG is far past what the kernel's socket buffers hold on loopback, so a client that reads nothing leaves bytes waiting in gatekit. */
const BIG = 48 << 20;

/** ask sends a GET for `path` on a new HTTP/1.1 connection (over TLS with `tls`), closing it after the response. */
function ask(port: number, path: string, tls = false): Socket {
  const socket = tls ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }) : connect(port, '127.0.0.1');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
  return socket;
}

/** readAll reads `socket` to its end, pausing `pauseMs` after each `step` bytes; it resolves with the bytes read. */
function readAll(socket: Socket, step = Infinity, pauseMs = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  socket.on('data', (chunk: Buffer) => {
    const before = n;
    chunks.push(chunk);
    n += chunk.length;
    if (Math.floor(before / step) === Math.floor(n / step)) return;
    socket.pause();
    setTimeout(() => socket.resume(), pauseMs);
  });
  socket.on('error', () => {}); // a cut connection ends the read with what came
  socket.resume();
  return once(socket, 'close').then(() => Buffer.concat(chunks));
}

describe('send_timeout over HTTP/1.1 (gatekit run)', function () {
  this.timeout(30_000);
  let dir: string;
  let served: Served | undefined;
  const sockets: Socket[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-send-timeout-'));
    writeFileSync(join(dir, 'big'), Buffer.alloc(BIG, 'b'));
    const pair = selfSigned(['localhost']);
    writeFileSync(join(dir, 'c.pem'), pair.cert);
    writeFileSync(join(dir, 'c.key'), pair.key);
    writeFileSync(join(dir, 'late.mjs'), "export default (req, res) => { setTimeout(() => res.end('late'), 2500); };\n");
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await served?.stop();
    served = undefined;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function start(sendTimeout: string, tls = false): Promise<number> {
    const file = join(dir, 'g.gate');
    writeFileSync(
      file,
      `global { workers 0; send_timeout ${sendTimeout} }
       server {
         listen 127.0.0.1:0${tls ? ` tls\n tls { cert ${dir}/c.pem; key ${dir}/c.key }` : ''}
         route /late { app ${join(dir, 'late.mjs')} }
         static ${dir}
       }\n`,
    );
    served = serve(['run', file], { env: { TMPDIR: dir } });
    const [, port] = await served.waitFor(/listening .*?url=https?:\/\/127\.0\.0\.1:(\d+)/);
    return Number(port);
  }

  for (const tls of [false, true])
    it(`closes the connection of a client that reads nothing for send_timeout, with one log line${tls ? ' (TLS)' : ''}`, async () => {
      const port = await start('1s', tls);
      const socket = ask(port, '/big', tls);
      sockets.push(socket);
      socket.pause(); // connected, alive, and reading nothing
      await served!.waitFor(/info client timed out while sending the response .*waiting=\d+/, 8000);
      const got = await readAll(socket);
      assert.ok(got.length < BIG, `the whole file came (${got.length} bytes): the connection was not cut`);
      assert.equal(served!.output().match(/client timed out/g)?.length, 1);
    });

  it('keeps a handler quiet past send_timeout, and a client that reads a little at a time', async () => {
    const port = await start('1s');
    const late = await readAll(ask(port, '/late'));
    assert.match(late.toString(), /^HTTP\/1\.1 200 [^]*\r\n\r\nlate$/);
    const slow = ask(port, '/big');
    sockets.push(slow);
    const got = await readAll(slow, 4 << 20, 150); // ~1.5 s in all: many sweeps see it waiting, each after progress
    assert.ok(got.length > BIG, `a slow reader got ${got.length} bytes of ${BIG}: cut`);
    assert.doesNotMatch(served!.output(), /timed out/);
  });

  it('never cuts with send_timeout 0s', async () => {
    const port = await start('0s');
    const socket = ask(port, '/big');
    sockets.push(socket);
    socket.pause();
    const slow = await readAll(ask(port, '/late')); // 2.5 s: the stalled client is older than a 1 s timeout would allow
    assert.match(slow.toString(), /late$/);
    const got = await readAll(socket);
    assert.ok(got.length > BIG, `the stalled client got ${got.length} bytes of ${BIG}`);
  });
});
