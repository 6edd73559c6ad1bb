import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
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

async function get(port: number, path: string, headers: OutgoingHttpHeaders = {}, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const res = await open(port, path, headers, method);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
}

/** fdsOn counts this process's open descriptors on a file (the gate runs in-process). */
function fdsOn(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === file; } catch { return false; } }).length;
}

/** until resolves once `cond` holds, checking after each turn of the event loop; it rejects after `ms`. */
async function until(cond: () => boolean, ms = 1000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('static: files on disk', () => {
  let gate: TestGate | undefined;
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'gatekit-static-')); });
  afterEach(async () => { await gate?.close(); gate = undefined; rmSync(dir, { recursive: true, force: true }); });

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
    for await (const c of res) { seen += (c as Buffer).length; if (seen >= 64 * 1024 * 1024) break; }
    const after = process.memoryUsage();
    const grown = (after.rss - before.rss) + (after.arrayBuffers - before.arrayBuffers);
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
