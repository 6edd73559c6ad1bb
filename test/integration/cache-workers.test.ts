import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  beforeEach(async () => { dir = mkdtempSync(join(tmpdir(), 'gatekit-cache-')); origin = await new Origin().listen(); });
  afterEach(async () => { await served?.stop(); served = undefined; await origin.close(); rmSync(dir, { recursive: true, force: true }); });

  const file = (): string => join(dir, 'site.gate');
  const start = async (): Promise<void> => {
    writeFileSync(file(), `global { workers 2; pid ./run.pid }
server { listen 127.0.0.1:0
  log { format "$pid $uri $cache_status"; to ${dir}/access.log }
  cache { store disk ${dir}/store }
  proxy ${origin.url}
}\n`);
    served = serve(['run', file()]);
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
  const lines = (): string[][] => readFileSync(join(dir, 'access.log'), 'utf8').trim().split('\n').map((l) => l.split(' '));

  it('answers hits from both workers, and keeps them across a reload and a restart', async () => {
    origin.on('/page', { headers: { 'cache-control': 'max-age=300' }, body: 'page' });
    await start();
    assert.equal((await httpGet(`http://127.0.0.1:${port()}/page`)).status, 200);
    await spread('/page', 40);
    const hitters = new Set(lines().filter(([, , s]) => s === 'HIT').map(([pid]) => pid));
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
    assert.deepEqual(new Set(lines().slice(1).map(([, , s]) => s)), new Set(['HIT']));
  });
});
