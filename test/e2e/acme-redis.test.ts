import { Redis } from 'ioredis';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/cli.js';
import { Pebble, PEBBLE_MISSING } from '../helpers/pebble.js';
import { freePort } from '../helpers/ports.js';
import { REDIS_SERVER, startRedis, type TestRedis } from '../helpers/redis.js';
import { tcpForwarder, type Forwarder } from '../helpers/tcp-forwarder.js';
import { httpsGet, type Verified } from '../helpers/tls-client.js';

const NAME = 'shared.gatekit.test';

/** ordering tells whether an instance is ordering a certificate now: its last "obtaining" or "renewing" line has no outcome after it. */
function ordering(i: Instance): boolean {
  const out = i.served.output();
  const last = (re: RegExp): number => Math.max(-1, ...[...out.matchAll(re)].map((m) => m.index));
  return last(/acme: (?:obtaining|renewing) certificate/g) > last(/acme: (?:certificate obtained(?! by)|could not)/g);
}

/** Instance is one `gatekit run` (its own process tree, its own ports) sharing the store with the other. */
interface Instance {
  readonly label: string;
  readonly file: string;
  served: Served;
  readonly http: number;
  readonly tls: number;
}

describe('tls acme { storage redis }: several instances, one certificate (gatekit run, pebble, redis-server)', function () {
  this.timeout(90_000);
  let dir: string;
  let redis: TestRedis | undefined;
  let pebble: Pebble | undefined;
  let forwarders: Forwarder[] = [];
  let instances: Instance[] = [];

  before(function () {
    if (PEBBLE_MISSING || !REDIS_SERVER) {
      console.log(`      skipped: ${PEBBLE_MISSING ?? 'redis-server is not installed'}`);
      this.skip();
    }
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-acme-redis-'));
    redis = await startRedis(dir);
  });
  afterEach(async () => {
    await Promise.all(instances.map((i) => i.served.stop()));
    for (const f of forwarders) f.close();
    await pebble?.stop();
    await redis?.kill();
    instances = [];
    forwarders = [];
    pebble = redis = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * setUp starts pebble with its challenge ports behind forwarders that send the CA to the
   * instance that is NOT ordering (the one that has not logged "obtaining certificate"), so
   * every challenge is answered by an instance that did not publish it.
   */
  const setUp = async (o: { challenge: 'http-01' | 'tls-alpn-01'; validity?: number; renewBefore?: string }): Promise<Instance[]> => {
    const other = (port: (i: Instance) => number) => (): number => port(instances.find((i) => !ordering(i)) ?? instances[0]);
    const http = await tcpForwarder(other((i) => i.http));
    const tls = await tcpForwarder(other((i) => i.tls));
    forwarders.push(http, tls);
    pebble = await Pebble.start(dir, { httpPort: http.port, tlsPort: tls.port, validity: o.validity ?? 3600 });
    for (const label of ['a', 'b']) {
      const i = { label, file: join(dir, `${label}.gate`), http: await freePort(), tls: await freePort() };
      writeFileSync(
        i.file,
        `global { workers 1; store ${redis!.url} { timeout 500ms } }
server ${NAME} {
    listen 127.0.0.1:${i.tls} tls
    tls acme { ca ${pebble.directory}; ca_root "${pebble.caRoot}"; storage redis ./copy-${label}; challenge ${o.challenge}; retry 1s; renew_before ${o.renewBefore ?? '1d'} }
    respond "hello from ${label}"
}
server {
    listen 127.0.0.1:${i.http}
    redirect https
}
`,
      );
      instances.push({ ...i, served: serve(['run', i.file]) });
    }
    for (const i of instances) await i.served.waitFor(/master running/, 20_000);
    return instances;
  };

  /** servedBy waits (bounded) until an instance serves a certificate that verifies against pebble's root (not the temporary self-signed one). */
  const servedBy = async (i: Instance, root: string, unlike?: string): Promise<Verified> => {
    for (let n = 0; n < 200; n++) {
      const got = await httpsGet(i.tls, NAME, root).catch((e: Error) => {
        if (!/self-signed|self signed/.test(e.message)) throw e;
        return undefined;
      });
      if (got && got.serial !== unlike) return got;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`instance ${i.label} never served a ${unlike ? 'new ' : ''}verified certificate:\n${i.served.output()}`);
  };

  const orderOnce = async (challenge: 'http-01' | 'tls-alpn-01'): Promise<{ orderer: Instance; other: Instance; root: string; a: Verified; b: Verified }> => {
    const [a, b] = await setUp({ challenge });
    const root = await pebble!.root();
    const [sa, sb] = [await servedBy(a, root), await servedBy(b, root)];
    const orderer = instances.find((i) => /acme: certificate obtained(?! by)/.test(i.served.output()))!;
    return { orderer, other: instances.find((i) => i !== orderer)!, root, a: sa, b: sb };
  };

  it('orders ONE certificate for two instances, the challenge answered by the one that did not order, and both serve it', async () => {
    const { orderer, other, a, b } = await orderOnce('http-01');
    assert.equal(pebble!.issued, 1, 'the CA issued one certificate');
    assert.deepEqual([a.status, a.body, b.status, b.body], [200, 'hello from a', 200, 'hello from b']);
    assert.equal(a.serial, b.serial, 'both serve the same certificate');
    assert.equal(forwarders[0].sent.at(-1), other.http, 'the CA checked the answer at the instance that did not order');
    assert.match(other.served.output(), /acme http-01 challenge answered worker=1/, 'the instance that did not order answered the CA');
    assert.match(orderer.served.output(), /acme: obtaining certificate/);
    assert.doesNotMatch(other.served.output(), /acme: certificate obtained(?! by)/, 'the other instance ordered nothing');
  });

  it('answers a TLS-ALPN-01 challenge from the instance that did not order', async () => {
    const { other, a, b } = await orderOnce('tls-alpn-01');
    assert.equal(pebble!.issued, 1);
    assert.equal(forwarders[1].sent.at(-1), other.tls, 'the CA checked the answer at the instance that did not order');
    assert.equal(a.serial, b.serial);
    assert.doesNotMatch(other.served.output(), /acme: certificate obtained(?! by)/);
  });

  it('picks up a renewal by the other instance without a reload', async () => {
    const [a, b] = await setUp({ challenge: 'http-01', validity: 30, renewBefore: '22s' }); // renewed 8 s after issue
    const root = await pebble!.root();
    const first = await servedBy(a, root);
    assert.equal((await servedBy(b, root)).serial, first.serial);
    const [ra, rb] = [await servedBy(a, root, first.serial), await servedBy(b, root, first.serial)];
    assert.notEqual(ra.serial, first.serial);
    assert.ok(
      [a, b].some((i) => /acme: new certificate in the store, copied for this instance/.test(i.served.output())),
      "one instance copied the other's renewal",
    );
    for (const i of [a, b]) assert.doesNotMatch(i.served.output(), /reload/i);
    assert.ok(pebble!.issued <= 3, `renewed once per renewal time, not once per instance (${pebble!.issued} issued)`);
    void rb;
  });

  it('keeps serving from the local copy while Redis is down, even after a restart, and shares again when it returns', async () => {
    const { root, a } = await orderOnce('http-01');
    const ib = instances[1];
    await redis!.kill();
    for (const i of instances) await i.served.waitFor(/acme: lost the store; certificates keep serving from the local copy/, 10_000);
    for (const i of instances) assert.equal((await httpsGet(i.tls, NAME, root)).serial, a.serial, `${i.label} still serves the certificate`);
    // a restart while Redis is down serves the copy on its disk at once
    await ib.served.stop();
    ib.served = serve(['run', ib.file]);
    await ib.served.waitFor(/master running/, 15_000);
    assert.equal((await httpsGet(ib.tls, NAME, root)).serial, a.serial, 'the restarted instance serves the local copy');
    assert.match(ib.served.output(), /acme: the store did not answer; certificates keep serving from the local copy|acme: the store does not answer yet/);
    await redis!.start();
    await ib.served.waitFor(/acme: the store answers again/, 15_000);
    // the restarted Redis is empty: the instances put back the certificate they hold
    const client = new Redis({ path: redis!.socket });
    try {
      const [key] = await client.keys('gatekit:acme:*:cert:*');
      assert.ok(key, 'the certificate is in the store again');
      assert.equal(new X509Certificate((await client.hget(key, 'cert'))!).serialNumber, a.serial);
    } finally {
      client.disconnect();
    }
    assert.equal(pebble!.issued, 1, 'nothing was ordered again');
  });
});
