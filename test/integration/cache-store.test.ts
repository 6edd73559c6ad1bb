import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/cli.js';
import { REDIS_SERVER, startRedis, type TestRedis } from '../helpers/redis.js';
import { httpGet, type HttpResult } from './mw-fixtures.js';

const LISTENING = /listening (?:worker=1 )?url=http:\/\/127\.0\.0\.1:(\d+)/;

describe('cache { store redis } across instances (gatekit run, redis-server)', function () {
  this.timeout(30_000);
  let dir: string;
  let redis: TestRedis | undefined;
  let origin: Server | undefined;
  const served: Served[] = [];
  /** asked counts the origin's requests per path. */
  const asked = new Map<string, number>();
  /** held: '/slow' waits for it, and its first arrival opens `arrived`. */
  let held: { open: () => void; hold: Promise<void>; arrived: Promise<void>; arrive: () => void };

  before(function () {
    if (!REDIS_SERVER) this.skip();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-cstore-'));
    redis = await startRedis(dir);
    asked.clear();
    held = heldDoor();
    const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const n = (asked.get(req.url!) ?? 0) + 1;
      asked.set(req.url!, n);
      if (req.url === '/slow') {
        held.arrive();
        await held.hold;
      }
      const body = req.url === '/big' ? Buffer.alloc(4096, 'b') : Buffer.from(`${req.url} #${n}\n`);
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain', 'content-length': body.length }).end(body);
    };
    origin = createServer((req, res) => void answer(req, res));
    await new Promise<void>((r) => origin!.listen(0, '127.0.0.1', r));
  });
  afterEach(async () => {
    await Promise.all(served.splice(0).map((s) => s.stop()));
    await redis?.kill();
    redis = undefined;
    if (origin) {
      origin.closeAllConnections();
      await new Promise((r) => origin!.close(r));
      origin = undefined;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (store = 'store redis { max_entry 1KB }'): Promise<number> => {
    const file = join(dir, `site${served.length}.gate`);
    const up = (origin!.address() as AddressInfo).port;
    writeFileSync(
      file,
      `global { workers 0; store ${redis!.url} { timeout 200ms } }\nserver {\n  listen 127.0.0.1:0\n  cache { ${store}; header on; purge_from 127.0.0.1 }\n  proxy http://127.0.0.1:${up}\n}\n`,
    );
    const s = serve(['run', file]);
    served.push(s);
    const [, port] = await s.waitFor(LISTENING, 8000);
    await s.waitFor(/store: connected/, 8000);
    return Number(port);
  };
  const get = (port: number, path: string, method = 'GET'): Promise<HttpResult> => httpGet(`http://127.0.0.1:${port}${path}`, { connection: 'close' }, method);

  it('stores an answer once and serves it from every instance; PURGE on one empties it for all', async () => {
    const [a, b] = [await start(), await start()];
    const first = await get(a, '/page');
    assert.deepEqual([first.headers['x-cache'], first.body.toString()], ['MISS', '/page #1\n']);
    const other = await get(b, '/page');
    assert.deepEqual([other.status, other.headers['x-cache'], other.body.toString()], [200, 'HIT', '/page #1\n']);
    assert.equal(asked.get('/page'), 1);
    assert.equal((await get(a, '/page', 'PURGE')).status, 200);
    const after = await get(b, '/page');
    assert.deepEqual([after.headers['x-cache'], after.body.toString()], ['MISS', '/page #2\n']);
  });

  it("keeps bodies past max_entry on this machine's disk store (store redis DIR), or nowhere without one", async () => {
    const [a, b] = [await start(), await start(`store redis ${join(dir, 'disk')} { max_entry 1KB }`)];
    await get(a, '/big');
    assert.equal((await get(a, '/big')).headers['x-cache'], 'MISS', 'too large for Redis, and no disk store');
    await get(b, '/big');
    const hit = await get(b, '/big');
    assert.deepEqual([hit.headers['x-cache'], hit.body.length], ['HIT', 4096]);
  });

  it('answers as a miss while Redis is down, with one log line, and shares entries again once it is back', async () => {
    const a = await start();
    await get(a, '/x');
    await redis!.kill();
    const down = [await get(a, '/x'), await get(a, '/x')];
    assert.deepEqual(
      down.map((r) => [r.status, r.headers['x-cache']]),
      [
        [200, 'MISS'],
        [200, 'MISS'],
      ],
    );
    assert.equal(served[0].output().match(/cache: the store did not answer/g)?.length, 1);
    await redis!.start();
    await served[0].waitFor(/store: connected[\s\S]*store: connected/, 8000);
    await get(a, '/x');
    assert.equal((await get(a, '/x')).headers['x-cache'], 'HIT');
    await served[0].waitFor(/cache: the store answers again/);
  });

  it('lets one of 100 concurrent misses over two instances reach the origin (lock)', async () => {
    const ports = [await start('store redis; lock 10s'), await start('store redis; lock 10s')];
    const all = Array.from({ length: 100 }, (_, i) => get(ports[i % 2], '/slow'));
    await held.arrived;
    held.open();
    const answers = await Promise.all(all);
    assert.deepEqual(new Set(answers.map((r) => `${r.status} ${r.body.toString()}`)), new Set(['200 /slow #1\n']));
    assert.equal(asked.get('/slow'), 1);
  });
});

/** heldDoor is a promise the test opens, and another the origin opens when a request reaches it. */
function heldDoor(): { open: () => void; hold: Promise<void>; arrived: Promise<void>; arrive: () => void } {
  let open!: () => void;
  let arrive!: () => void;
  const hold = new Promise<void>((resolve) => {
    open = resolve;
  });
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  return { open, hold, arrived, arrive };
}
