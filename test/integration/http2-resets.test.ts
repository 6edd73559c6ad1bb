import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSigned } from '../../plugins/tls/self-signed.js';
import { serve, type Served } from '../helpers/cli.js';
import { getSome, heldClient as client, type HeldClient as Client } from '../helpers/h2-client.js';

/** sendSome opens a POST, writes part of its body, and resolves once the server has its head (its 100 Continue). */
function sendSome(session: ClientHttp2Session, path: string): Promise<ClientHttp2Stream> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-length': '1048576', expect: '100-continue' });
    stream.on('error', () => {});
    stream.once('continue', () => {
      stream.write(Buffer.alloc(64 * 1024, 'u'));
      resolve(stream);
    });
  });
}

/** descriptors counts a process's open file descriptors (sockets, files). */
function descriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** openFiles names what a process's descriptors point to, for a failure's message. */
function openFiles(pid: number): string {
  return readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return `${fd}=${readlinkSync(`/proc/${pid}/fd/${fd}`)}`;
      } catch {
        return fd; // closed meanwhile
      }
    })
    .join(' ');
}

/** settles waits (bounded) until `probe` holds, polling the process's state as it winds down. */
async function settles(probe: () => boolean, ms: number, what: () => string): Promise<void> {
  const until = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > until) assert.fail(what());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** exitsWithin resolves with the exit code, or fails if the process has not exited after `ms`. */
async function exitsWithin(served: Served, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms after SIGTERM:\n${served.output()}`)), ms);
  });
  try {
    return await Promise.race([served.exited(), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('HTTP/2 clients that reset or drop streams mid-flight', function () {
  this.timeout(30_000);
  let dir: string;
  let served: Served | undefined;
  const clients: Client[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-h2-resets-'));
    const pair = selfSigned(['localhost']);
    writeFileSync(join(dir, 'c.pem'), pair.cert);
    writeFileSync(join(dir, 'c.key'), pair.key);
    writeFileSync(join(dir, 'big'), Buffer.alloc(16 * 1024 * 1024, 'b')); // far past a stream's window: the rest waits on the client
    // reads an upload to its end, then says how long it was
    writeFileSync(
      join(dir, 'upload.mjs'),
      "export default (req, res) => { let n = 0; req.on('data', (c) => { n += c.length; }); req.on('end', () => res.end(`${n}`)); };\n",
    );
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await served?.stop();
    served = undefined;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function start(workers: number): Promise<string> {
    const file = join(dir, `w${workers}.gate`);
    writeFileSync(
      file,
      `global { workers ${workers}; graceful_timeout 1s; pid ${join(dir, `w${workers}.pid`)} }
       server {
         listen 127.0.0.1:0 tls
         tls { cert ${dir}/c.pem; key ${dir}/c.key }
         route /upload { app ${join(dir, 'upload.mjs')} }
         route /hi { respond "hi" }
         static ${dir}
       }\n`,
    );
    served = serve(['run', file], { env: { TMPDIR: dir } });
    const [, url] = await served.waitFor(/listening .*?url=(\S+)/);
    return url;
  }

  /** abuse resets, drops and abandons streams the ways a client can, mid-download and mid-upload. */
  async function abuse(origin: string): Promise<void> {
    // RST_STREAM mid-body of a large file and mid-upload, on a session that stays open
    const a = client(origin);
    clients.push(a);
    for (const s of [await getSome(a.session, '/big'), await sendSome(a.session, '/upload')]) s.close(constants.NGHTTP2_CANCEL);
    // a TCP reset mid-body, with streams in flight both ways
    const b = client(origin);
    await Promise.all([getSome(b.session, '/big'), getSome(b.session, '/big'), sendSome(b.session, '/upload')]);
    b.socket.resetAndDestroy();
    // a FIN mid-body (the client's session destroyed: GOAWAY, then its socket ends)
    const c = client(origin);
    await Promise.all([getSome(c.session, '/big'), sendSome(c.session, '/upload')]);
    c.session.destroy();
    // GOAWAY from a client that then reads no more of its streams and keeps its connection
    const d = client(origin);
    clients.push(d);
    const stuck = await getSome(d.session, '/big');
    stuck.pause();
    d.session.goaway(constants.NGHTTP2_NO_ERROR);
  }

  it('resets, TCP resets and FINs mid-stream free their sessions, streams and files (workers 0)', async () => {
    const origin = await start(0);
    const pid = served!.child.pid!;
    const before = descriptors(pid);
    for (let round = 0; round < 3; round++) await abuse(origin);
    for (const c of clients.splice(0)) c.socket.destroy(); // every client gone: nothing of theirs may stay open
    // A FIN or reset that gatekit reads frees its session at once. Under load, Node 20 may stop
    // reading a session whose write failed (see core/http2-stall.ts): its reset is then found by
    // the stall watch within two 1 s sweeps, still inside this bound; send_timeout (60s) and
    // keepalive_timeout (75s) are far past it, so neither can hide a FIN or reset not handled.
    // http2-stall.test.ts makes that second case every time.
    await settles(
      () => descriptors(pid) <= before,
      5000,
      () => `gatekit holds ${descriptors(pid)} descriptors, ${before} before the clients came: ${openFiles(pid)}`,
    );
    // an upload its client gave up is a 499 at info, as over HTTP/1.1, not a handler's failure
    assert.match(served!.output(), /info client closed the request .*uri=\/upload status=499/);
    assert.doesNotMatch(served!.output(), /error request failed/);
  });

  for (const workers of [0, 2])
    it(`stops within graceful_timeout after streams were reset mid-flight (workers ${workers})`, async () => {
      const origin = await start(workers);
      await abuse(origin);
      await abuse(origin);
      served!.child.kill('SIGTERM');
      await served!.waitFor(/stopping .*signal=TERM/);
      // graceful_timeout 1s; a worker is killed 2s past it, so workers must leave before that
      assert.equal(await exitsWithin(served!, workers ? 2800 : 5000), 0);
      if (workers) assert.equal(served!.output().match(/info worker exited/g)?.length, workers);
    });

  it('a reload in the middle drains the old config within graceful_timeout, and stop then finishes (workers 0)', async () => {
    const origin = await start(0);
    await abuse(origin);
    served!.child.kill('SIGHUP');
    await served!.waitFor(/info reloaded/);
    await abuse(origin);
    const fresh = client(origin);
    clients.push(fresh);
    const answer = await new Promise<string>((resolve, reject) => {
      let body = '';
      const s = fresh.session.request({ ':path': '/hi' });
      s.on('data', (c: Buffer) => (body += c.toString()));
      s.on('end', () => resolve(body));
      s.on('error', reject);
    });
    assert.equal(answer, 'hi');
    served!.child.kill('SIGTERM');
    assert.equal(await exitsWithin(served!, 5000), 0);
  });
});
