import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDirsIn, serve, type Served } from '../helpers/cli.js';
import { brokerSocket } from '../../plugins/limit/wire.js';
import { httpGet, type HttpResult } from './mw-fixtures.js';

const LISTENING = /listening worker=1 url=http:\/\/127\.0\.0\.1:(\d+)/;

/** spread sends `n` requests, `width` at a time, each on its own connection (so both workers get some). */
async function spread(port: number, n: number, width: number): Promise<HttpResult[]> {
  const out: HttpResult[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      out.push(await httpGet(`http://127.0.0.1:${port}/`, { connection: 'close' }));
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return out;
}

/** passSoon asks until a request passes (the release reaches the master a moment after the response ends); bounded. */
async function passSoon(port: number): Promise<HttpResult | undefined> {
  let last: HttpResult | undefined;
  for (let i = 0; i < 60 && last?.status !== 200; i++) {
    if (i) await new Promise((r) => setTimeout(r, 50));
    last = await httpGet(`http://127.0.0.1:${port}/`, { connection: 'close' });
  }
  return last;
}

const pidsOf = (outs: readonly HttpResult[]): Set<string> => new Set(outs.map((o) => String(o.headers['x-pid'])));

describe('limit across workers (gatekit run, workers 2)', function () {
  this.timeout(20_000);
  let dir: string;
  let served: Served | undefined;
  let upstream: Server | undefined;
  /** held: requests the upstream keeps unanswered, with the worker that forwarded each. */
  const held: { res: ServerResponse; worker: string }[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-limitw-'));
  });
  afterEach(async () => {
    for (const h of held.splice(0)) h.res.end();
    await served?.stop();
    served = undefined;
    if (upstream) {
      upstream.closeAllConnections();
      await new Promise((r) => upstream!.close(r));
      upstream = undefined;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (body: string): string => {
    const file = join(dir, 'site.gate');
    writeFileSync(file, `global { workers 2 }\nserver {\n  listen 127.0.0.1:0\n  headers { set x-pid $pid }\n${body}\n}\n`);
    return file;
  };
  /**
   * start serves `body` with 2 workers. Round-robin in the master (rr) spreads even a few
   * connections over both; the default has the kernel pick, which is what a worker killed
   * mid-test needs (a connection the master hands to a dying worker is lost).
   */
  const start = async (body: string, scheduling: 'rr' | 'default' = 'rr'): Promise<number> => {
    served = serve(['run', write(body)], { env: { TMPDIR: dir, ...(scheduling === 'rr' ? { GATEKIT_SCHEDULING: 'rr' } : {}) } });
    const [, port] = await served.waitFor(LISTENING, 8000);
    await served.waitFor(/master running/, 8000);
    return Number(port);
  };

  /** startUpstream answers at once, except `/hold`, which it keeps until the test ends it. */
  const startUpstream = async (): Promise<number> => {
    upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/hold') held.push({ res, worker: String(req.headers['x-gk-pid']) });
      else res.end('ok');
    });
    await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
    return (upstream.address() as AddressInfo).port;
  };

  const waitUntil = async (what: string, cond: () => boolean, ms = 5000): Promise<void> => {
    for (const t = Date.now(); !cond(); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    }
  };

  it('gives a client one rate, however the kernel spreads its connections over the workers', async () => {
    const port = await start('  limit { rate 1/m burst 3 }\n  respond "ok"');
    const outs = await spread(port, 60, 16);
    assert.equal(pidsOf(outs).size, 2, 'both workers answered');
    assert.deepEqual([outs.filter((o) => o.status === 200).length, outs.filter((o) => o.status === 429).length], [3, 57]);
    const [runDir, ...more] = runDirsIn(dir);
    assert.deepEqual(more, [], 'one generation, one run folder');
    assert.equal(statSync(runDir).mode & 0o777, 0o700, 'which only this user may enter');
    assert.ok(existsSync(brokerSocket(runDir)), 'the master keeps the counters on its socket there');
    await served!.stop();
    assert.deepEqual(runDirsIn(dir), [], 'the run folder goes with the master');
  });

  it('keeps the counts of an unchanged block across a reload (moved down by a line too), and starts a changed block afresh', async () => {
    const port = await start('  limit { rate 1/m burst 3 }\n  respond "v1"');
    const before = await spread(port, 8, 4);
    assert.equal(before.filter((o) => o.status === 200).length, 3);
    write('  # a line added above moves the block; its counts stay\n  limit { rate 1/m burst 3 }\n  respond "v2"');
    served!.child.kill('SIGHUP');
    await served!.waitFor(/reloaded: new workers ready/, 8000);
    const kept = await spread(port, 8, 4);
    assert.ok(
      [...pidsOf(kept)].some((p) => !pidsOf(before).has(p)),
      'new workers answered',
    );
    assert.equal(kept.filter((o) => o.status === 200).length, 0, 'the burst was spent before the reload');
    write('  limit { rate 1/m burst 2 }\n  respond "v3"');
    served!.child.kill('SIGHUP');
    await served!.waitFor(/reloaded: new workers ready[\s\S]*reloaded: new workers ready/, 8000);
    const fresh = await spread(port, 8, 4);
    assert.deepEqual(
      fresh.filter((o) => o.status === 200).map((o) => o.body.toString()),
      ['v3', 'v3'],
      'a changed block counts from zero',
    );
  });

  it('counts requests in flight across workers, and releases them when responses end', async () => {
    const up = await startUpstream();
    const port = await start(`  limit { connections 1 }\n  proxy http://127.0.0.1:${up}`);
    const first = httpGet(`http://127.0.0.1:${port}/hold`, { connection: 'close' }, 'GET', 8000);
    await waitUntil('the upstream to hold the first request', () => held.length === 1);
    const refused = await spread(port, 16, 8);
    assert.ok(
      refused.every((o) => o.status === 429),
      `statuses: ${refused.map((o) => o.status).join(' ')}`,
    );
    assert.equal(pidsOf(refused).size, 2, 'both workers refused: the one without the request in flight too');
    held.shift()!.res.end('done');
    assert.equal((await first).status, 200);
    assert.equal((await passSoon(port))?.status, 200, 'the count was released');
  });

  it('releases what a worker had in flight when that worker dies', async () => {
    const up = await startUpstream();
    const port = await start(`  headers request { set x-gk-pid $pid }\n  limit { connections 1 }\n  proxy http://127.0.0.1:${up}`, 'default');
    const first = httpGet(`http://127.0.0.1:${port}/hold`, { connection: 'close' }, 'GET', 8000).catch((e: Error) => e);
    await waitUntil('the upstream to hold the first request', () => held.length === 1);
    assert.equal((await httpGet(`http://127.0.0.1:${port}/`, { connection: 'close' })).status, 429);
    process.kill(Number(held[0].worker), 'SIGKILL');
    assert.ok((await first) instanceof Error, 'the request in flight on the killed worker fails');
    assert.equal((await passSoon(port))?.status, 200, "the dead worker's count was released");
  });
});
