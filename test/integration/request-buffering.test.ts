import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawRequest } from '../helpers/raw-http.js';
import { pieces, slowUpload, type SlowUpload } from '../helpers/slow-upload.js';
import { ASGI_FILE } from './asgi-gate.js';
import { CGI_FILE, parseEnv } from './cgi-fixtures.js';
import { FASTCGI_FILE, fastcgiConfig, PHP_FPM, SKIP_REASON, startPhpFpm, type PhpFpm } from './fastcgi-fixtures.js';
import { hasPython3, WSGI_TESTDATA } from './wsgi-gate.js';

const WSGI_FILE = join(WSGI_TESTDATA, 'site.gate');
const sha = (bufs: readonly Buffer[]): string => createHash('sha256').update(Buffer.concat(bufs)).digest('hex');
const total = (bufs: readonly Buffer[]): number => bufs.reduce((n, b) => n + b.length, 0);

/** spillFiles are this process's open request-body temporary files (Linux: /proc/self/fd), already unlinked. */
function spillFiles(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (/gatekit-body-[^/]+\/body/.test(target)) out.push(target);
  }
  return out;
}

/** until resolves once `test` holds, polling every 20 ms; it throws after `ms`. */
async function until(test: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('request buffering: a slow upload holds no application worker', function () {
  this.timeout(20_000);
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  describe('wsgi', () => {
    before(function () {
      if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed */
    });

    it('serves other requests while two clients upload slowly, kills no worker, and hands the app the whole body', async () => {
      gate = await startGate('server { listen 127.0.0.1:0; wsgi apps:application { workers 2; timeout 1s } }', { file: WSGI_FILE });
      const g = gate;
      const body = pieces(8, 1024); // 8 KiB at 4 KiB/s: 1.75 s, past the app's timeout of 1 s
      const uploads = [slowUpload(g.port, '/upload', { pieces: body, every: 250 }), slowUpload(g.port, '/upload', { pieces: body, every: 250, length: true })];
      await Promise.all(uploads.map((u) => u.wrote(2)));
      for (let i = 0; i < 4; i++) {
        const res = await fetch(g.url('/pid'));
        assert.equal(res.status, 200);
        await res.text();
      }
      assert.ok(
        uploads.every((u) => !u.done()),
        'the other requests were served while both uploads were still coming',
      );
      for (const u of uploads) {
        const res = await u.response;
        assert.deepEqual([res.status, res.body], [200, `${total(body)} ${sha(body)} 0`]);
      }
      assert.ok(!g.logs.some((l) => /did not answer within|SIGKILL/.test(l)), g.logs.join('\n'));
    });

    it('answers 408 to a client that stalls mid-body, in memory or past it, and the app never sees the request', async () => {
      gate = await startGate('server { listen 127.0.0.1:0; wsgi apps:application { body_timeout 300ms; body_buffer_size 1KB } }', { file: WSGI_FILE });
      for (const sent of [1, 3]) {
        // 100 bytes (in memory), then 3 KiB (in a temporary file)
        const stalled = slowUpload(gate.port, '/errors', { pieces: pieces(4, sent === 1 ? 100 : 1024), every: 10, stallAfter: sent });
        const res = await stalled.response;
        assert.deepEqual([res.status, res.headers.connection], [408, 'close'], `after ${sent} piece(s)`);
      }
      assert.ok(!gate.logs.some((l) => /a line for the log/.test(l)), 'the app was not called');
    });

    it('keeps a body larger than body_buffer_size in an unlinked temporary file, closed once the request is done', async function () {
      if (!existsSync('/proc/self/fd')) this.skip(); // the test sees the open file through Linux's /proc
      gate = await startGate('server { listen 127.0.0.1:0; wsgi apps:application { body_buffer_size 16KB } }', { file: WSGI_FILE });
      const dir = mkdtempSync(join(tmpdir(), 'gk-spill-'));
      const saved = process.env.TMPDIR;
      process.env.TMPDIR = dir;
      try {
        const body = [Buffer.alloc(40 * 1024, 'x'), Buffer.alloc(24 * 1024, 'y')];
        const up = slowUpload(gate.port, '/upload', { pieces: body, every: 5000 });
        await until(() => spillFiles().length === 1, 'the temporary file');
        const [file] = spillFiles();
        assert.ok(file.startsWith(dir) && file.endsWith('(deleted)'), `${file} is in ${dir} and already unlinked`);
        assert.deepEqual(readdirSync(dir), [], 'nothing stays on disk, not even while the body is coming');
        up.abort(); // the rest would come in 5 s: send it at once on a new request instead
        await until(() => spillFiles().length === 0, 'the file of the abandoned upload to close');
        const res = await slowUpload(gate.port, '/upload', { pieces: body, every: 0 }).response;
        assert.deepEqual([res.status, res.body], [200, `${total(body)} ${sha(body)} 0`]);
        await until(() => spillFiles().length === 0, 'the temporary file to close');
      } finally {
        if (saved === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved;
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('gives the app CONTENT_LENGTH for a chunked upload, and no Transfer-Encoding', async () => {
      gate = await startGate('server { listen 127.0.0.1:0; wsgi apps:application }', { file: WSGI_FILE });
      const res = await slowUpload(gate.port, '/environ', { pieces: pieces(3, 10), every: 0 }).response;
      const env = JSON.parse(res.body) as Record<string, unknown>;
      assert.deepEqual([env.CONTENT_LENGTH, env.HTTP_TRANSFER_ENCODING], ['30', undefined]);
    });

    it('answers 413 for a chunked body over an enclosing limit { body }', async () => {
      gate = await startGate('server { listen 127.0.0.1:0; route / { limit { body 1KB }; wsgi apps:application } }', { file: WSGI_FILE });
      const chunk = 'a'.repeat(1000);
      const raw = await rawRequest(
        gate.port,
        `POST /errors HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n${chunk}\r\n3e8\r\n${chunk}\r\n0\r\n\r\n`,
      );
      assert.equal(raw.status, 413);
      assert.ok(!gate.logs.some((l) => /a line for the log/.test(l)), 'the app was not called');
    });

    it('answers 413 past body_max_size when no limit { body } bounds the body, and a limit { body } sets the bound instead', async () => {
      gate = await startGate(
        'server { listen 127.0.0.1:0; route /limited/ { limit { body 4KB }; wsgi apps:application { body_max_size 1KB } }\n' +
          '  wsgi apps:application { body_max_size 1KB; body_buffer_size 512B } }',
        { file: WSGI_FILE },
      );
      const chunk = 'a'.repeat(1000);
      const chunked = (path: string): string =>
        `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n${chunk}\r\n3e8\r\n${chunk}\r\n0\r\n\r\n`;
      const over = await rawRequest(gate.port, chunked('/errors'));
      assert.deepEqual([over.status, /\r\nconnection: close\r\n/i.test(over.text)], [413, true]);
      const sized = await rawRequest(gate.port, `POST /errors HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n${chunk}${chunk}`);
      assert.equal(sized.status, 413);
      assert.ok(!gate.logs.some((l) => /a line for the log/.test(l)), 'the app was not called');
      const bounded = await rawRequest(gate.port, chunked('/limited/environ'));
      assert.equal(bounded.status, 200);
      assert.equal((JSON.parse(bounded.text.slice(bounded.text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>).CONTENT_LENGTH, '2000');
    });

    it("does not count a streamed upload toward the app's timeout with request_buffering off", async () => {
      gate = await startGate('server { listen 127.0.0.1:0; wsgi apps:application { request_buffering off; timeout 1s } }', { file: WSGI_FILE });
      const body = pieces(8, 1024);
      const res = await slowUpload(gate.port, '/upload', { pieces: body, every: 250 }).response;
      assert.deepEqual([res.status, res.body], [200, `${total(body)} ${sha(body)} 0`]);
      assert.ok(!gate.logs.some((l) => /did not answer within|SIGKILL/.test(l)), gate.logs.join('\n'));
    });

    it('streams the body as it comes with request_buffering off', async () => {
      gate = await startGate('server { listen 127.0.0.1:0; wsgi apps:application { request_buffering off } }', { file: WSGI_FILE });
      const up = slowUpload(gate.port, '/first', { pieces: [Buffer.from('hello'), Buffer.from(' world')], every: 5000 });
      const res = await up.response; // the app answers from the first piece, with the second 5 s away
      assert.deepEqual([res.status, res.body, up.done()], [200, 'first=hello', false]);
      up.abort();
    });
  });

  describe('asgi', () => {
    before(function () {
      if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed */
    });

    it('gets no false 504 while its client uploads slowly, and serves others meanwhile', async () => {
      gate = await startGate('server { listen 127.0.0.1:0; asgi apps:application { timeout 1s } }', { file: ASGI_FILE });
      const g = gate;
      const pid = await (await fetch(g.url('/pid'))).text();
      const body = pieces(8, 1024);
      const up = slowUpload(g.port, '/echo', { pieces: body, every: 250 });
      await up.wrote(2);
      assert.equal(await (await fetch(g.url('/'))).text(), 'hello from asgi\n');
      assert.ok(!up.done(), 'served while the upload was still coming');
      const res = await up.response;
      assert.equal(res.status, 200);
      assert.equal(res.body, Buffer.concat(body).toString('latin1'));
      assert.equal(res.headers['x-chunks'], '1', 'the app got the body whole, in one http.request');
      assert.equal(await (await fetch(g.url('/pid'))).text(), pid, 'the same worker');
    });

    it("does not count a streamed upload toward the app's timeout with request_buffering off", async () => {
      gate = await startGate('server { listen 127.0.0.1:0; asgi apps:application { request_buffering off; timeout 1s } }', { file: ASGI_FILE });
      const body = pieces(8, 1024);
      const res = await slowUpload(gate.port, '/echo', { pieces: body, every: 250 }).response;
      assert.deepEqual([res.status, res.body], [200, Buffer.concat(body).toString('latin1')]);
    });

    it('gives the app a content-length header for a chunked upload, and no transfer-encoding', async () => {
      gate = await startGate('server { listen 127.0.0.1:0; asgi apps:application }', { file: ASGI_FILE });
      const res = await slowUpload(gate.port, '/scope', { pieces: pieces(2, 7), every: 0 }).response;
      const headers = new Map((JSON.parse(res.body) as { headers: [string, string][] }).headers);
      assert.deepEqual([headers.get('content-length'), headers.get('transfer-encoding')], ['14', undefined]);
    });
  });

  describe('cgi', () => {
    it('starts the script only once the body is whole: a slow upload holds no process slot and no timeout runs', async () => {
      gate = await startGate(
        `server { listen 127.0.0.1:0
        route /cgi-bin/ { cgi ./cgi-bin { spawner fork; timeout 1s; max_processes 1; queue_timeout 500ms } } }`,
        { file: CGI_FILE },
      );
      const g = gate;
      const body = pieces(8, 1024);
      const up = slowUpload(g.port, '/cgi-bin/echo.sh', { pieces: body, every: 250 });
      await up.wrote(2);
      const other = await fetch(g.url('/cgi-bin/env.sh'), { method: 'POST', body: 'x=1' });
      const env = parseEnv(await other.text());
      assert.deepEqual([other.status, env.CONTENT_LENGTH, up.done()], [200, '3', false]);
      const res = await up.response;
      assert.equal(res.status, 200);
      assert.equal(res.body, Buffer.concat(body).toString('latin1'));
      const chunked = await slowUpload(g.port, '/cgi-bin/env.sh', { pieces: pieces(2, 5), every: 0 }).response;
      assert.equal(parseEnv(chunked.body).CONTENT_LENGTH, '10', 'a chunked upload gets its CONTENT_LENGTH');
    });
  });

  describe('fastcgi (PHP-FPM)', () => {
    let fpm: PhpFpm | undefined;
    before(async function () {
      if (!PHP_FPM) {
        console.log(`      skipped: ${SKIP_REASON}`);
        this.skip();
      }
      fpm = await startPhpFpm(1);
    });
    after(async () => {
      await fpm?.stop();
    });

    it('sends the request to PHP-FPM only once the body is whole: a slow upload holds no child', async () => {
      gate = await startGate(fastcgiConfig(`unix:${fpm!.socket}`, 'keepalive 1; read_timeout 1s'), { file: FASTCGI_FILE });
      const g = gate;
      const body = pieces(8, 1024);
      const up = slowUpload(g.port, '/php/env.php', { pieces: body, every: 250, length: true }); // a chunked one was read whole already, for its length
      await up.wrote(2);
      const other = await fetch(g.url('/php/pid.php'));
      assert.deepEqual([other.status, up.done()], [200, false]);
      await other.text();
      const res = await up.response;
      assert.equal(res.status, 200);
      const env = JSON.parse(res.body) as { body: string; CONTENT_LENGTH: string };
      assert.deepEqual([env.body, env.CONTENT_LENGTH], [Buffer.concat(body).toString('latin1'), String(total(body))]);
    });
  });

  describe('proxy', () => {
    let upstream: Server | undefined;
    /** clientDone, at each request the upstream gets: had the client sent its whole body by then? */
    let clientDone: boolean[] = [];
    /** framing is how the upstream's last request said its body's length. */
    let framing: (string | undefined)[] = [];
    let upload: SlowUpload | undefined;
    before(async () => {
      upstream = createServer((req: IncomingMessage, res) => {
        clientDone.push(upload?.done() ?? false);
        framing = [req.headers['content-length'], req.headers['transfer-encoding']];
        const parts: Buffer[] = [];
        req.on('data', (c: Buffer) => parts.push(c));
        req.on('end', () => res.end(`${Buffer.concat(parts).length}`));
      });
      await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
    });
    after(async () => {
      await new Promise((r) => upstream?.close(r));
    });
    const config = (opts: string): string => `server { listen 127.0.0.1:0; proxy http://127.0.0.1:${(upstream!.address() as AddressInfo).port} { ${opts} } }`;

    it('streams the body upstream as it comes by default, and sends it whole with request_buffering on', async () => {
      gate = await startGate(config(''));
      clientDone = [];
      upload = slowUpload(gate.port, '/', { pieces: pieces(2, 100), every: 5000 });
      await until(() => clientDone.length === 1, 'the upstream to get the request');
      assert.deepEqual(clientDone, [false], 'streamed: the upstream has the request before the client sent it all');
      upload.abort();
      await gate.close();

      gate = await startGate(config('request_buffering on'));
      clientDone = [];
      upload = slowUpload(gate.port, '/', { pieces: pieces(4, 100), every: 100 });
      const res = await upload.response;
      assert.deepEqual([res.status, res.body, clientDone], [200, '400', [true]]);
      assert.deepEqual(framing, ['400', undefined], 'a buffered chunked upload goes upstream with its length');
    });
  });
});
