import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/cli.js';
import { REDIS_SERVER, startRedis, type TestRedis } from '../helpers/redis.js';
import { tcpForwarder, type Forwarder } from '../helpers/tcp-forwarder.js';
import { httpGet, type HttpResult } from './mw-fixtures.js';
import { selfSignedPair } from './proxy-upstreams.js';

const LISTENING = /listening (?:worker=1 )?url=http:\/\/127\.0\.0\.1:(\d+)/;

/** Instance is one `gatekit run` sharing the store with the others. */
interface Instance {
  readonly served: Served;
  port: number;
}

/** freeTcpPort is a port free a moment ago (redis-server cannot take port 0 for TLS and say which it got). */
async function freeTcpPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** roundRobin is a layer-4 balancer in small: each connection goes to the next port in turn. */
function roundRobin(ports: readonly number[]): Promise<Forwarder> {
  let next = 0;
  return tcpForwarder(() => ports[next++ % ports.length]);
}

describe('limit { store shared } across instances (gatekit run, redis-server)', function () {
  this.timeout(30_000);
  let dir: string;
  let redis: TestRedis | undefined;
  const instances: Instance[] = [];
  let upstream: Server | undefined;
  const held: ServerResponse[] = [];

  before(function () {
    if (!REDIS_SERVER) this.skip();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-lstore-'));
    redis = await startRedis(dir);
  });
  afterEach(async () => {
    for (const h of held.splice(0)) h.end();
    await Promise.all(instances.splice(0).map((i) => i.served.stop()));
    await redis?.kill();
    redis = undefined;
    if (upstream) {
      upstream.closeAllConnections();
      await new Promise((r) => upstream!.close(r));
      upstream = undefined;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** start runs one more instance of `site` (its own process tree, its own port), sharing the test's store. */
  const start = async (site: string, o: { workers?: number; store?: string } = {}): Promise<Instance> => {
    const file = join(dir, `site${instances.length}.gate`);
    writeFileSync(
      file,
      `global { workers ${o.workers ?? 0}; store ${redis!.url} { timeout ${o.store ?? '200ms'} } }\nserver {\n  listen 127.0.0.1:0\n${site}\n}\n`,
    );
    const served = serve(['run', file]);
    // kept before it is ready, so that afterEach stops it even if it never gets there
    const i = { served, port: 0 };
    instances.push(i);
    const [, port] = await served.waitFor(LISTENING, 8000);
    await served.waitFor(/store: connected/, 8000);
    i.port = Number(port);
    return i;
  };
  const get = (i: Instance, path = '/'): Promise<HttpResult> => httpGet(`http://127.0.0.1:${i.port}${path}`, { connection: 'close' });

  it('one rate for three instances behind a layer-4 balancer: a burst of 5 is 5 requests whichever instance takes them', async () => {
    const site = '  limit { rate 1/m burst 5; store shared }\n  headers { set x-instance $port }\n  respond "ok"';
    const all = [await start(site), await start(site), await start(site, { workers: 2 })];
    const front = await roundRobin(all.map((i) => i.port));
    try {
      const answers: HttpResult[] = [];
      for (let n = 0; n < 9; n++) answers.push(await get({ served: all[0].served, port: front.port }));
      assert.deepEqual(
        answers.map((a) => a.status),
        [200, 200, 200, 200, 200, 429, 429, 429, 429],
      );
      assert.equal(new Set(answers.filter((a) => a.status === 200).map((a) => a.headers['x-instance'])).size, 3, 'every instance let some through');
    } finally {
      front.close();
    }
    const late = await get(all[1]);
    assert.equal(late.status, 429);
    const wait = Number(late.headers['retry-after']);
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
  });

  it("holds rate 10/s across two instances to within GCRA's bound (burst + rate × time)", async () => {
    const site = '  limit { rate 10/s burst 3; store shared }\n  respond "ok"';
    const all = [await start(site), await start(site)];
    const began = performance.now();
    let passed = 0;
    let refused = 0;
    const lane = async (i: Instance): Promise<void> => {
      while (performance.now() - began < 1500)
        if ((await get(i)).status === 200) passed++;
        else refused++;
    };
    await Promise.all([lane(all[0]), lane(all[1]), lane(all[0]), lane(all[1])]);
    const seconds = (performance.now() - began) / 1000;
    assert.ok(passed <= 3 + Math.ceil(10 * seconds), `${passed} passed in ${seconds.toFixed(2)}s`);
    assert.ok(passed >= 10 * 1.5 * 0.6, `only ${passed} passed in ${seconds.toFixed(2)}s (${refused} refused)`);
    assert.ok(refused > 0, 'the lanes asked faster than the rate');
  });

  it('counts requests in flight across instances, and frees them as they end', async () => {
    upstream = createServer((req, res) => {
      if (req.url === '/hold') held.push(res);
      else res.end('ok');
    });
    await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
    const up = (upstream.address() as AddressInfo).port;
    const site = `  limit { connections 2; store shared }\n  proxy http://127.0.0.1:${up}`;
    const [a, b] = [await start(site), await start(site)];
    const first = get(a, '/hold');
    const second = get(b, '/hold');
    while (held.length < 2) await new Promise((r) => setTimeout(r, 10)); // both reached the upstream; bounded by the test timeout
    const third = await get(b);
    assert.equal(third.status, 429);
    held.splice(0).forEach((h) => h.end('done'));
    assert.deepEqual([(await first).status, (await second).status], [200, 200]);
    let again = await get(a);
    for (let n = 0; n < 40 && again.status !== 200; n++) again = await get(a); // the release is on its way to the store
    assert.equal(again.status, 200);
  });

  it('lets requests through while Redis is down (on_store_error allow), with one log line, and counts again once it is back', async () => {
    const i = await start('  limit { rate 1/m burst 1; store shared }\n  respond "ok"');
    assert.deepEqual([(await get(i)).status, (await get(i)).status], [200, 429]);
    await redis!.kill();
    const during = [await get(i), await get(i), await get(i)];
    assert.deepEqual(
      during.map((r) => r.status),
      [200, 200, 200],
    );
    await i.served.waitFor(/limit: the store did not answer; letting requests through/);
    assert.equal(i.served.output().match(/limit: the store did not answer/g)!.length, 1, 'one line per outage');
    await redis!.start();
    await i.served.waitFor(/store: connected[\s\S]*store: connected/, 8000);
    const after = [await get(i), await get(i)];
    assert.deepEqual(
      after.map((r) => r.status),
      [200, 429],
    );
    await i.served.waitFor(/limit: the store answers again/);
  });

  it('answers 503 while Redis is down with on_store_error deny, and 200 once it is back', async () => {
    const i = await start('  limit { rate 100/s burst 100; store shared; on_store_error deny }\n  respond "ok"');
    assert.equal((await get(i)).status, 200);
    await redis!.kill();
    const down = await get(i);
    assert.equal(down.status, 503);
    assert.equal(down.headers['retry-after'], '1');
    await redis!.start();
    await i.served.waitFor(/store: connected[\s\S]*store: connected/, 8000);
    assert.equal((await get(i)).status, 200);
  });

  it('answers within the store timeout when Redis hangs (SIGSTOP), then recovers when it continues', async () => {
    const i = await start('  limit { rate 1/m burst 1; store shared; on_store_error deny }\n  respond "ok"', { store: '100ms' });
    assert.equal((await get(i)).status, 200);
    redis!.pause();
    const began = performance.now();
    const hung = await get(i);
    const took = performance.now() - began;
    redis!.resume();
    assert.equal(hung.status, 503);
    assert.ok(took < 2000, `answered after ${took.toFixed(0)} ms`);
    let back = await get(i);
    for (let n = 0; n < 40 && back.status === 503; n++) back = await get(i);
    assert.equal(back.status, 429, 'the bucket the store kept still holds');
  });

  it('reaches Redis over rediss:// with a private CA and a password', async () => {
    const { key, cert } = selfSignedPair();
    writeFileSync(join(dir, 'redis.key'), key);
    writeFileSync(join(dir, 'redis.crt'), cert);
    const port = await freeTcpPort();
    const tlsRedis = await startRedis(mkdtempSync(join(dir, 'tls-')), [
      '--tls-port',
      String(port),
      '--tls-cert-file',
      join(dir, 'redis.crt'),
      '--tls-key-file',
      join(dir, 'redis.key'),
      '--tls-ca-cert-file',
      join(dir, 'redis.crt'),
      '--tls-auth-clients',
      'no',
      '--requirepass',
      'pa55',
    ]);
    try {
      const file = join(dir, 'tls.gate');
      writeFileSync(
        file,
        `global { workers 0; store rediss://localhost:${port} { password pa55; ca ./redis.crt; timeout 500ms } }\nserver {\n  listen 127.0.0.1:0\n  limit { rate 1/m; store shared; on_store_error deny }\n  respond "ok"\n}\n`,
      );
      const served = serve(['run', file]);
      instances.push({ served, port: 0 });
      const [, p] = await served.waitFor(LISTENING, 8000);
      await served.waitFor(/store: connected part=store store=rediss:\/\/localhost/, 8000);
      const i = { served, port: Number(p) };
      assert.deepEqual([(await get(i)).status, (await get(i)).status], [200, 429]);
    } finally {
      await tlsRedis.kill();
    }
  });

  it('refuses at start a shared limit without a store', async () => {
    const file = join(dir, 'nostore.gate');
    writeFileSync(file, 'global { workers 0 }\nserver {\n  listen 127.0.0.1:0\n  limit { rate 1/s; store shared }\n  respond "ok"\n}\n');
    const served = serve(['run', file]);
    instances.push({ served, port: 0 });
    await served.waitFor(/nostore\.gate:4:3: 'limit \{ store shared \}' needs a store/, 8000);
  });
});
