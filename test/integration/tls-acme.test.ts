import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { Pebble, PEBBLE_MISSING, type PebbleOptions } from '../helpers/pebble.js';
import { freePort } from '../helpers/ports.js';
import { rawGet } from '../helpers/raw-http.js';
import { countLines, httpsGet, waitForCount, waitForLine } from '../helpers/tls-client.js';

const NAME = 'a.gatekit.test';
const OBTAINED = /acme: certificate obtained(?! by)/;
const UPDATED = /certificate updated/;

/** SiteOptions shape the config of one test gatekit: its ports, its CA, and its `tls acme` settings. */
interface SiteOptions {
  readonly pebble: Pebble | { directory: string; caRoot: string };
  readonly storage: string;
  readonly tlsPort: number;
  /** httpPort, when set, adds a plain server on it that redirects to HTTPS. */
  readonly httpPort?: number;
  readonly name?: string;
  readonly challenge?: 'http-01' | 'tls-alpn-01';
  readonly email?: string;
  readonly extra?: string;
}

function site(o: SiteOptions): string {
  const name = o.name ?? NAME;
  return `
server ${name} {
    listen 127.0.0.1:${o.tlsPort} tls
    tls acme { email ${o.email ?? 'ops@gatekit.test'}; ca ${o.pebble.directory}; ca_root "${o.pebble.caRoot}"; storage "${o.storage}"; challenge ${o.challenge ?? 'http-01'}; ${o.extra ?? ''} }
    respond "hello $host"
}
${o.httpPort ? `server {\n    listen 127.0.0.1:${o.httpPort}\n    redirect https\n}` : ''}
`;
}

describe('tls acme with a real ACME CA (pebble)', function () {
  this.timeout(60_000);
  let dir: string;
  let pebble: Pebble | undefined;
  let gates: TestGate[] = [];
  let ports: { http: number; tls: number };

  before(function () {
    if (PEBBLE_MISSING) {
      console.log(`      skipped: ${PEBBLE_MISSING}`);
      this.skip();
    }
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-acme-'));
    ports = { http: await freePort(), tls: await freePort() };
  });
  afterEach(async () => {
    for (const g of gates) await g.close();
    gates = [];
    await pebble?.stop();
    pebble = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const startPebble = async (o: Partial<PebbleOptions> = {}): Promise<Pebble> =>
    (pebble = await Pebble.start(dir, { httpPort: ports.http, tlsPort: ports.tls, ...o }));
  const serve = async (text: string): Promise<TestGate> => {
    const g = await startGate(text);
    gates.push(g);
    return g;
  };
  /** certs runs `gatekit certs` on the config, written to a file. */
  const certs = async (text: string): Promise<string> => {
    const file = join(dir, 'site.gate');
    writeFileSync(file, text);
    const r = await runCli(['certs', file], { ms: 15_000 });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  it('obtains a certificate through HTTP-01, answered on the plain listener before its redirect, and serves it to a client that trusts the CA', async () => {
    const ca = await startPebble();
    const storage = join(dir, 'store');
    const text = site({ pebble: ca, storage, tlsPort: ports.tls, httpPort: ports.http });
    const g = await serve(text);
    await waitForLine(g.logs, UPDATED);
    const report = await certs(text);
    assert.match(
      report,
      new RegExp(
        `^${NAME.replace(/\./g, '\\.')}\n    issuer        Pebble Intermediate CA \\w+\n    expires       20\\d\\d-.*\n    next renewal  20\\d\\d-.*\n    last error    -\n`,
      ),
    );
    const res = await httpsGet(ports.tls, NAME, await ca.root());
    assert.deepEqual([res.status, res.body], [200, `hello ${NAME}`]);
    assert.ok(countLines(g.logs, /acme http-01 challenge answered/) >= 1, 'the CA got its answer from the plain listener');
    const other = await rawGet(ports.http, '/.well-known/acme-challenge/unknown-token', NAME);
    assert.equal(other.status, 301, 'a token that is not pending goes on to the routes');
    const certDir = join(storage, `127.0.0.1-${new URL(ca.directory).port}-dir`, 'certificates', NAME);
    assert.equal(statSync(join(certDir, 'key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(certDir, 'cert.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(certDir).mode & 0o777, 0o700);
    assert.equal(statSync(storage).mode & 0o777, 0o700);
  });

  it('obtains a certificate through TLS-ALPN-01 on the TLS listener', async () => {
    const ca = await startPebble();
    const g = await serve(site({ pebble: ca, storage: join(dir, 'store'), tlsPort: ports.tls, challenge: 'tls-alpn-01' }));
    await waitForLine(g.logs, UPDATED);
    const res = await httpsGet(ports.tls, NAME, await ca.root());
    assert.deepEqual([res.status, res.body], [200, `hello ${NAME}`]);
    assert.equal(countLines(g.logs, /acme http-01/), 0);
  });

  it('renews at renew_before and serves the new certificate without a reload, while an open connection keeps working', async () => {
    const ca = await startPebble({ validity: 10 });
    const g = await serve(site({ pebble: ca, storage: join(dir, 'store'), tlsPort: ports.tls, httpPort: ports.http, extra: 'renew_before 8s' }));
    await waitForLine(g.logs, UPDATED);
    const root = await ca.root();
    const kept = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await httpsGet(ports.tls, NAME, root, { agent: kept });
      await waitForCount(g.logs, UPDATED, 2, 20_000);
      const fresh = await httpsGet(ports.tls, NAME, root);
      assert.notEqual(fresh.serial, first.serial, 'a new connection gets the renewed certificate');
      assert.equal(fresh.status, 200);
      const again = await httpsGet(ports.tls, NAME, root, { agent: kept });
      assert.deepEqual([again.status, again.serial], [200, first.serial], 'the connection opened before the renewal still serves');
      assert.ok(countLines(g.logs, /acme: renewing certificate/) >= 1);
    } finally {
      kept.destroy();
    }
  });

  it('keeps serving the current certificate when the CA goes away before a renewal, and logs each retry', async () => {
    const ca = await startPebble({ validity: 10 });
    const g = await serve(site({ pebble: ca, storage: join(dir, 'store'), tlsPort: ports.tls, httpPort: ports.http, extra: 'renew_before 8s; retry 100ms' }));
    await waitForLine(g.logs, UPDATED);
    const root = await ca.root();
    const before = await httpsGet(ports.tls, NAME, root);
    await ca.stop();
    await waitForCount(g.logs, /could not renew certificate; the current one keeps serving/, 2, 20_000);
    const lines = g.logs.filter((l) => /could not renew/.test(l));
    // the first attempt may have begun before pebble stopped (the connection is lost mid-order)
    assert.match(lines[1], /cannot reach the CA at https:\/\/127\.0\.0\.1:\d+\/dir: .*ECONNREFUSED/);
    assert.deepEqual(
      lines.slice(0, 2).map((l) => /retry_in_ms=(\d+)/.exec(l)?.[1]),
      ['100', '200'],
      'the wait doubles',
    );
    const after = await httpsGet(ports.tls, NAME, root);
    assert.deepEqual([after.status, after.serial], [200, before.serial]);
  });

  it('orders a certificate once for two gatekits that share a storage folder', async () => {
    const ca = await startPebble();
    const storage = join(dir, 'shared');
    const second = { http: await freePort(), tls: await freePort() };
    const [a, b] = await Promise.all([
      serve(site({ pebble: ca, storage, tlsPort: ports.tls, httpPort: ports.http })),
      serve(site({ pebble: ca, storage, tlsPort: second.tls, httpPort: second.http })),
    ]);
    await Promise.all([waitForLine(a.logs, UPDATED), waitForLine(b.logs, UPDATED)]);
    await ca.waitFor(/Issued certificate serial/); // its log may reach us after gatekit's
    assert.equal(ca.issued, 1, 'pebble issued one certificate');
    assert.equal(countLines([...a.logs, ...b.logs], OBTAINED), 1);
    // the other one waited on the lock, or found the certificate in storage when it looked
    const adopted = /certificate obtained by another gatekit, taken from storage|acme: certificate in storage/;
    await Promise.any([waitForLine(a.logs, adopted), waitForLine(b.logs, adopted)]);
    assert.equal(countLines([...a.logs, ...b.logs], /certificate obtained by another gatekit, taken from storage|acme: certificate in storage/), 1);
    const root = await ca.root();
    const [ra, rb] = [await httpsGet(ports.tls, NAME, root), await httpsGet(second.tls, NAME, root)];
    assert.equal(ra.serial, rb.serial);
  });

  it('logs an unreachable CA, an email the CA refuses and a failed challenge, and serves a temporary certificate meanwhile', async () => {
    const ca = await startPebble(); // checks http-01 on ports.http, where nothing listens: gatekit's plain listener is elsewhere
    const plain = await freePort();
    const closed = await freePort();
    const storage = join(dir, 'store');
    const text = [
      site({
        pebble: { directory: `https://127.0.0.1:${closed}/dir`, caRoot: ca.caRoot },
        storage,
        tlsPort: ports.tls,
        name: 'down.gatekit.test',
        extra: 'retry 1m',
      }),
      site({ pebble: ca, storage, tlsPort: ports.tls, name: 'email.gatekit.test', email: 'bad', extra: 'retry 1m' }),
      site({ pebble: ca, storage, tlsPort: ports.tls, name: 'fail.gatekit.test', httpPort: plain, extra: 'retry 1m' }),
    ].join('\n');
    const g = await serve(text);
    await waitForCount(g.logs, /could not obtain certificate; a temporary self-signed one serves meanwhile/, 3, 30_000);
    const report = await certs(text);
    assert.match(
      report,
      /^down\.gatekit\.test\n    issuer        - \(none yet.*\n.*\n    next renewal  20\d\d-.*\n    last error    cannot reach the CA at https:\/\/127\.0\.0\.1:\d+\/dir: /m,
    );
    const failures = g.logs.filter((l) => /could not obtain/.test(l));
    assert.ok(
      failures.some((l) => /names=down\.gatekit\.test .*cannot reach the CA at https:\/\/127\.0\.0\.1:\d+\/dir: .*ECONNREFUSED/.test(l)),
      failures.join('\n'),
    );
    assert.ok(
      failures.some((l) => /names=email\.gatekit\.test .*contact email \\?"bad\\?" is invalid/.test(l)),
      failures.join('\n'),
    );
    assert.ok(
      failures.some((l) => /names=fail\.gatekit\.test .*(connection refused|Connection refused|invalid)/i.test(l)),
      failures.join('\n'),
    );
    for (const name of ['down.gatekit.test', 'email.gatekit.test', 'fail.gatekit.test']) {
      const res = await httpsGet(ports.tls, name, undefined);
      assert.deepEqual([res.status, res.body], [200, `hello ${name}`]);
    }
  });
});
