import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';

const GIB = 1024 ** 3;

function open(port: number, path: string, headers: OutgoingHttpHeaders = {}, method = 'GET'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function get(
  port: number,
  path: string,
  headers: OutgoingHttpHeaders = {},
  method = 'GET',
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const res = await open(port, path, headers, method);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
}

/** fdsOn counts this process's open descriptors on a file (the gate runs in-process). */
function fdsOn(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

/** until resolves once `cond` holds, checking after each turn of the event loop; it rejects after `ms`. */
async function until(cond: () => boolean, ms = 1000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** settle dates files a minute back: settled small files are kept in memory. */
function settle(...files: string[]): void {
  const past = new Date(Date.now() - 60_000);
  for (const f of files) utimesSync(f, past, past);
}

describe('static: files on disk', () => {
  let gate: TestGate | undefined;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-static-'));
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams a 1 GiB file without reading it into memory, and serves its last bytes by range', async () => {
    const big = join(dir, 'big.bin');
    truncateSync((writeFileSync(big, ''), big), GIB); // sparse: instant to make, 1 GiB to read
    gate = await startGate(`server { listen 127.0.0.1:0; static "${dir}" }`);
    const head = await get(gate.port, '/big.bin', {}, 'HEAD');
    assert.equal(head.headers['content-length'], String(GIB));
    const tail = await get(gate.port, '/big.bin', { range: `bytes=${GIB - 10}-` });
    assert.deepEqual([tail.status, tail.headers['content-range'], tail.body.length], [206, `bytes ${GIB - 10}-${GIB - 1}/${GIB}`, 10]);

    global.gc?.();
    const before = process.memoryUsage();
    const res = await open(gate.port, '/big.bin');
    assert.equal(res.headers['content-length'], String(GIB));
    let seen = 0;
    for await (const c of res) {
      seen += (c as Buffer).length;
      if (seen >= 64 * 1024 * 1024) break;
    }
    const after = process.memoryUsage();
    const grown = after.rss - before.rss + (after.arrayBuffers - before.arrayBuffers);
    assert.ok(grown < 256 * 1024 * 1024, `memory grew by ${Math.round(grown / 2 ** 20)} MiB while 64 MiB were read`);
    // the client went away mid-file: the server closes its descriptor
    await until(() => fdsOn(big) === 0);
  });

  it('never serves a changed file stale, even when its size and mtime are kept', async () => {
    const f = join(dir, 'page.txt');
    const old = new Date('2020-01-01T00:00:00Z');
    writeFileSync(f, 'one');
    utimesSync(f, old, old); // settled: kept in memory
    gate = await startGate(`server { listen 127.0.0.1:0; static "${dir}" }`);
    assert.equal((await get(gate.port, '/page.txt')).body.toString(), 'one');
    const first = await get(gate.port, '/page.txt');
    assert.equal(first.body.toString(), 'one');
    writeFileSync(f, 'two'); // same size, new mtime
    const second = await get(gate.port, '/page.txt');
    assert.equal(second.body.toString(), 'two');
    assert.notEqual(second.headers.etag, first.headers.etag);
    writeFileSync(f, 'six');
    utimesSync(f, old, old); // same size and mtime as the cached 'one': ctime still moves
    assert.equal((await get(gate.port, '/page.txt')).body.toString(), 'six');
    writeFileSync(f, 'a longer body');
    assert.equal((await get(gate.port, '/page.txt')).body.toString(), 'a longer body');
    rmSync(f);
    assert.equal((await get(gate.port, '/page.txt')).status, 404);
  });

  it('escapes names in a listing', async () => {
    const name = `<b>&"x'.txt`;
    writeFileSync(join(dir, name), '12345');
    gate = await startGate(`server { listen 127.0.0.1:0; static "${dir}" { browse on } }`);
    const html = (await get(gate.port, '/')).body.toString();
    assert.ok(html.includes(`<a href="./%3Cb%3E%26%22x'.txt">&lt;b&gt;&amp;&quot;x&#39;.txt</a></td><td>5</td>`), html);
    assert.ok(!html.includes('<b>&'));
    const file = await get(gate.port, `/${encodeURIComponent(name)}`);
    assert.equal(file.body.toString(), '12345');
  });

  it('closes every file it opened when the gate closes', async () => {
    const f = join(dir, 'mid.bin');
    writeFileSync(f, Buffer.alloc(4 * 1024 * 1024, 7)); // past the memory cache: streamed
    gate = await startGate(`server { listen 127.0.0.1:0; static "${dir}" }`);
    for (let i = 0; i < 3; i++) assert.equal((await get(gate.port, '/mid.bin')).body.length, 4 * 1024 * 1024);
    const res = await open(gate.port, '/mid.bin');
    await new Promise((r) => res.once('data', r));
    res.pause();
    await gate.close();
    gate = undefined;
    res.destroy();
    await until(() => fdsOn(f) === 0);
  });

  it('serves a precompressed variant with its encoding even after it was asked for by its own name', async () => {
    const { gzipSync, gunzipSync } = await import('node:zlib');
    const js = 'console.log("hello");\n'.repeat(20);
    writeFileSync(join(dir, 'a.js'), js);
    writeFileSync(join(dir, 'a.js.gz'), gzipSync(js));
    settle(join(dir, 'a.js'), join(dir, 'a.js.gz')); // settled: kept in memory, headers memoised
    gate = await startGate(`server { listen 127.0.0.1:0; static "${dir}" { precompressed gzip } }`);
    const first = await get(gate.port, '/a.js', { 'accept-encoding': 'gzip' });
    assert.equal((await get(gate.port, '/a.js.gz')).headers['content-type'], 'application/gzip');
    const again = await get(gate.port, '/a.js', { 'accept-encoding': 'gzip' });
    assert.deepEqual(
      [again.headers['content-encoding'], again.headers['content-type'], again.headers.etag],
      ['gzip', first.headers['content-type'], first.headers.etag],
    );
    assert.equal(gunzipSync(again.body).toString(), js);
  });

  it('closes the connection when a file shrinks while it is sent, rather than end the response short', async () => {
    const f = join(dir, 'shrinks.bin');
    truncateSync((writeFileSync(f, ''), f), 256 * 1024 * 1024);
    gate = await startGate(`server { listen 127.0.0.1:0; static "${dir}" }`);
    const res = await open(gate.port, '/shrinks.bin', { connection: 'keep-alive' });
    let seen = 0;
    await new Promise<void>((resolve) =>
      res.once('data', (c: Buffer) => {
        seen += c.length;
        resolve();
      }),
    );
    res.pause();
    truncateSync(f, 1024 * 1024);
    const closed = new Promise<string>((resolve) => {
      res.socket.once('close', () => resolve('closed'));
      setTimeout(() => resolve('still open'), 5000);
    });
    res.on('data', (c: Buffer) => {
      seen += c.length;
    });
    res.on('error', () => {});
    res.resume();
    assert.equal(await closed, 'closed');
    assert.ok(seen < 256 * 1024 * 1024, `${seen} bytes`);
    assert.equal(res.complete, false, 'the client sees an incomplete response');
    assert.equal((await get(gate.port, '/shrinks.bin', { range: 'bytes=0-9' })).status, 206, 'the server keeps serving');
  });

  it('answers an empty file whole, whatever range is asked', async () => {
    writeFileSync(join(dir, 'empty.txt'), '');
    gate = await startGate(`server { listen 127.0.0.1:0; static "${dir}" }`);
    for (const range of ['bytes=0-', 'bytes=-5', 'bytes=0-0']) {
      const r = await get(gate.port, '/empty.txt', { range });
      assert.deepEqual([r.status, r.headers['content-length'], r.headers['content-range']], [200, '0', undefined], range);
    }
  });

  it('answers 403 for a file it may not read, and passes over an unreadable precompressed variant', async () => {
    const big = 'x'.repeat(300 * 1024); // past the memory cache: opened per request
    writeFileSync(join(dir, 'locked.txt'), big);
    writeFileSync(join(dir, 'page.txt'), big);
    writeFileSync(join(dir, 'page.txt.gz'), big);
    chmodSync(join(dir, 'locked.txt'), 0o000);
    chmodSync(join(dir, 'page.txt.gz'), 0o000);
    chmodSync(dir, 0o755);
    gate = await startGate(`server { listen 127.0.0.1:0; static "${dir}" { precompressed gzip } }`);
    // root reads anything: ask as nobody, as a worker started by root with `user nobody` would
    const root = process.getuid?.() === 0;
    if (root) process.seteuid!(65534);
    try {
      assert.equal((await get(gate.port, '/locked.txt')).status, 403);
      const page = await get(gate.port, '/page.txt', { 'accept-encoding': 'gzip' });
      assert.deepEqual([page.status, page.headers['content-encoding'], page.body.length], [200, undefined, big.length]);
    } finally {
      if (root) process.seteuid!(0);
    }
  });

  it('follows a root that is a symlink to the release it points at now (atomic deploys)', async () => {
    for (const r of ['rel1', 'rel2']) mkdirSync(join(dir, r));
    writeFileSync(join(dir, 'rel1', 'v.txt'), 'one');
    writeFileSync(join(dir, 'rel2', 'v.txt'), 'two');
    writeFileSync(join(dir, 'rel2', 'new.txt'), 'new');
    symlinkSync('rel1', join(dir, 'current'));
    gate = await startGate(`server { listen 127.0.0.1:0; static "${join(dir, 'current')}" }`);
    assert.equal((await get(gate.port, '/v.txt')).body.toString(), 'one');
    symlinkSync('rel2', join(dir, 'next'));
    renameSync(join(dir, 'next'), join(dir, 'current'));
    assert.equal((await get(gate.port, '/v.txt')).body.toString(), 'two');
    assert.equal((await get(gate.port, '/new.txt')).body.toString(), 'new');
  });

  it('hides a symlink to a hidden file as it hides the file, in listings too', async () => {
    mkdirSync(join(dir, 'site', 'dir'), { recursive: true });
    writeFileSync(join(dir, 'site', '.env'), 'SECRET=1');
    writeFileSync(join(dir, 'site', 'dir', 'ok.txt'), 'ok');
    symlinkSync('../.env', join(dir, 'site', 'dir', 'env-link'));
    symlinkSync('ok.txt', join(dir, 'site', 'dir', 'ok-link'));
    gate = await startGate(`server { listen 127.0.0.1:0; static "${join(dir, 'site')}" { browse on } }`);
    assert.equal((await get(gate.port, '/dir/env-link')).status, 404);
    assert.equal((await get(gate.port, '/dir/ok-link')).body.toString(), 'ok');
    const html = (await get(gate.port, '/dir/')).body.toString();
    assert.deepEqual([html.includes('env-link'), html.includes('ok-link')], [false, true]);
  });

  it('runs the static-site sample', async () => {
    const file = repoPath('samples', 'static-site', 'gatekit.gate');
    gate = await startGate(readFileSync(file, 'utf8'), { file, env: { PORT: '0' } });
    const home = await get(gate.port, '/');
    assert.equal(home.status, 200);
    assert.match(home.body.toString(), /Served by gatekit/);
    assert.equal(home.headers['cache-control'], 'public, max-age=300');
    const css = await get(gate.port, '/assets/site.css', { 'accept-encoding': 'br' });
    assert.deepEqual([css.headers['content-encoding'], css.headers.vary], ['br', 'Accept-Encoding']);
    assert.match((await get(gate.port, '/downloads/')).body.toString(), /big\.txt/);
    const range = await get(gate.port, '/downloads/big.txt', { range: 'bytes=0-5' });
    assert.deepEqual([range.status, range.body.toString()], [206, 'line 0']);
    assert.match((await get(gate.port, '/app/settings/profile')).body.toString(), /id="app"/);
  });
});
