import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Origin } from '../../plugins/cache/testdata/origin.js';
import { runCli, serve, type Served } from '../helpers/cli.js';
import { httpGet } from './mw-fixtures.js';

const LISTENING = /listening worker=\d+ url=http:\/\/127\.0\.0\.1:(\d+)/g;

describe('cache: a disk store shared by workers (gatekit run)', function () {
  this.timeout(30_000);
  let dir: string;
  let served: Served | undefined;
  let origin: Origin;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-cache-'));
    origin = await new Origin().listen();
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (): string => join(dir, 'site.gate');
  /** start runs gatekit with 2 workers; `rr` hands connections to them in turn (a burst would reach one: the other never wakes first). */
  const start = async (options = '', rr = false): Promise<void> => {
    writeFileSync(
      file(),
      `global { workers 2; pid ./run.pid }
server { listen 127.0.0.1:0
  log { format "$pid $uri $cache_status"; to ${dir}/access.log }
  cache { store disk ${dir}/store; ${options} }
  proxy ${origin.url}
}\n`,
    );
    served = serve(['run', file()], { env: { TMPDIR: dir, ...(rr ? { GATEKIT_SCHEDULING: 'rr' } : {}) } });
    await served.waitFor(new RegExp(LISTENING.source), 8000);
    await served.waitFor(/master running/, 8000);
  };
  const port = (): string => [...served!.output().matchAll(LISTENING)].pop()![1];
  /** spread sends `n` requests for `path`, 8 at a time, each on its own connection, so that both workers answer some. */
  const spread = async (path: string, n: number): Promise<void> => {
    let left = n;
    const lane = async (): Promise<void> => {
      while (left-- > 0) assert.equal((await httpGet(`http://127.0.0.1:${port()}${path}`, { connection: 'close' })).status, 200);
    };
    await Promise.all(Array.from({ length: 8 }, lane));
  };
  /** getSent sends a GET on its own connection: `sent` once the request is written, `body` with the answer. */
  const getSent = (path: string): { sent: Promise<unknown>; body: Promise<string> } => {
    const req = request(`http://127.0.0.1:${port()}${path}`, { agent: false, headers: { connection: 'close' } });
    const body = new Promise<string>((resolve, reject) => {
      req.on('response', (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          b += c;
        });
        res.on('end', () => resolve(`${res.statusCode} ${b}`));
      });
      req.on('error', reject);
    });
    const sent = once(req, 'finish');
    req.end();
    return { sent, body };
  };
  const lines = (): string[][] =>
    readFileSync(join(dir, 'access.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '));

  it('answers hits from both workers, and keeps them across a reload and a restart', async () => {
    origin.on('/page', { headers: { 'cache-control': 'max-age=300' }, body: 'page' });
    await start();
    assert.equal((await httpGet(`http://127.0.0.1:${port()}/page`)).status, 200);
    await spread('/page', 40);
    const hitters = new Set(
      lines()
        .filter(([, , s]) => s === 'HIT')
        .map(([pid]) => pid),
    );
    assert.equal(hitters.size, 2, 'both workers answered hits from the one store');
    assert.equal(origin.count('/page'), 1);

    const reloaded = await runCli(['reload', file()], { ms: 15_000 });
    assert.equal(reloaded.code, 0, reloaded.stderr);
    await spread('/page', 10);
    await served!.stop();
    served = undefined;
    await start();
    await spread('/page', 10);
    assert.equal(origin.count('/page'), 1);
    assert.deepEqual(
      new Set(
        lines()
          .slice(1)
          .map(([, , s]) => s),
      ),
      new Set(['HIT']),
    );
  });

  it("sees the other worker's purge and new entry at once, though hits are answered from memory", async () => {
    origin.on('/p', (_r, n) => ({ headers: { 'cache-control': 'max-age=300' }, body: `v${n}` }));
    await start('purge_from 127.0.0.1', true);
    const get = async (method = 'GET'): Promise<string> => {
      const r = await httpGet(`http://127.0.0.1:${port()}/p`, { connection: 'close' }, method);
      return `${r.status} ${r.body.toString()}`;
    };
    // one connection each, in turn: both workers answer, and hold v1 in memory after their first hit
    for (let i = 0; i < 7; i++) assert.equal(await get(), '200 v1');
    assert.equal(
      new Set(
        lines()
          .filter(([, , s]) => s === 'HIT')
          .map(([pid]) => pid),
      ).size,
      2,
      'both workers answered hits',
    );
    assert.match(await get('PURGE'), /^200 1 entry purged/);
    for (let i = 0; i < 6; i++) assert.equal(await get(), '200 v2');
    assert.equal(origin.count('/p'), 2);
    assert.equal(
      new Set(
        lines()
          .slice(-6)
          .map(([pid]) => pid),
      ).size,
      2,
      'both workers answered after the purge',
    );
  });

  it('lets one of 100 concurrent misses reach the origin, whichever worker they reach (lock)', async () => {
    let open!: () => void;
    const hold = new Promise<void>((resolve) => {
      open = resolve;
    });
    origin.on('/slow', { headers: { 'cache-control': 'max-age=60' }, body: 'slow', hold });
    await start('lock 10s', true);
    const all = Array.from({ length: 100 }, () => getSent('/slow'));
    await Promise.all(all.map((r) => r.sent));
    await origin.reached('/slow');
    open();
    assert.deepEqual(new Set(await Promise.all(all.map((r) => r.body))), new Set(['200 slow']));
    assert.equal(origin.count('/slow'), 1);
    assert.equal(new Set(lines().map(([pid]) => pid)).size, 2, 'both workers answered some');
  });

  it('refreshes a stale entry once, whichever worker the stale requests reach (stale_while_revalidate)', async () => {
    let open!: () => void;
    const hold = new Promise<void>((resolve) => {
      open = resolve;
    });
    origin.on('/s', (_r, n) => ({ headers: { 'cache-control': 'max-age=0, stale-while-revalidate=60' }, body: `v${n}`, hold: n === 2 ? hold : undefined }));
    await start();
    assert.equal((await httpGet(`http://127.0.0.1:${port()}/s`)).body.toString(), 'v1');
    // the refresh is held at the origin: both workers answer from the stale entry meanwhile
    await spread('/s', 40);
    const stale = lines().slice(1);
    assert.equal(new Set(stale.map(([pid]) => pid)).size, 2, 'both workers answered some');
    assert.deepEqual(new Set(stale.map(([, , s]) => s)), new Set(['STALE', 'UPDATING']));
    assert.equal(stale.filter(([, , s]) => s === 'STALE').length, 1);
    assert.equal(origin.count('/s'), 2);
    open();
    while ((await httpGet(`http://127.0.0.1:${port()}/s`, { connection: 'close' })).body.toString() === 'v1');
  });
});
