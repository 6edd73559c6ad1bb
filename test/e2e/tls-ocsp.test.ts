import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import { serve, type Served } from '../helpers/cli.js';
import { TestCa } from '../helpers/ocsp-responder.js';
import { freePort } from '../helpers/ports.js';
import { httpsGet } from '../helpers/tls-client.js';

const NAME = 'ocsp.gatekit.test';

/** sClient runs `openssl s_client -status` against gatekit, as a user checks stapling, and gives what it printed. */
function sClient(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', NAME, '-status', '-CAfile', ca],
      { timeout: 10_000 },
      (e, stdout) => {
        if (e && !stdout) reject(new Error(`openssl s_client failed: ${e.message}`));
        else resolve(stdout);
      },
    );
    child.stdin!.end();
  });
}

/** stapleOf makes one TLS connection that asks for certificate status, and gives the staple the server sent (undefined: none). */
function stapleOf(port: number, ca: string): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    let staple: Buffer | undefined;
    const s = connect({ host: '127.0.0.1', port, servername: NAME, ca, requestOCSP: true, timeout: 5000 } as ConnectionOptions, () => {
      s.destroy();
      resolve(staple);
    });
    s.on('OCSPResponse', (r: Buffer | null) => {
      staple = r ?? undefined;
    });
    s.on('timeout', () => s.destroy(new Error('timed out')));
    s.on('error', reject);
  });
}

/** firstStaple connects until a staple comes (workers pick up what the master stored within moments), bounded. */
async function firstStaple(port: number, ca: string): Promise<Buffer> {
  for (let i = 0; i < 100; i++) {
    const s = await stapleOf(port, ca);
    if (s) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no staple was ever served');
}

describe('tls OCSP stapling (gatekit run, openssl ocsp as the responder)', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: TestCa;
  let run: Served | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-ocsp-'));
    ca = TestCa.make(dir);
  });
  afterEach(async () => {
    await run?.stop();
    await ca.stop();
    run = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** start runs gatekit with 2 workers serving `cert` on a free port. */
  async function start(leaf: { cert: string; key: string }, tls = ''): Promise<number> {
    const port = await freePort();
    const file = join(dir, 'site.gate');
    writeFileSync(
      file,
      `global { workers 2 }\nserver ${NAME} {\n  listen 127.0.0.1:${port} tls\n  tls { cert "${leaf.cert}"; key "${leaf.key}"; storage ./store; ${tls} }\n  respond "hello"\n}\n`,
    );
    run = serve(['run', file]);
    await run.waitFor(/master running/, 15_000);
    return port;
  }

  it('staples a good response, fetched once by the master and served by both workers, and kept across a restart', async () => {
    const rport = await freePort();
    const leaf = ca.issue(NAME, `http://127.0.0.1:${rport}`);
    const responder = await ca.respond({ port: rport });
    const port = await start(leaf);
    await run!.waitFor(/ocsp: staple obtained .*status=good/, 20_000);
    await firstStaple(port, ca.caPem);
    const out = await sClient(port, join(dir, 'ca.pem'));
    assert.match(out, /OCSP Response Status: successful/);
    assert.match(out, /Cert Status: good/);
    for (let i = 0; i < 8; i++) assert.ok(await stapleOf(port, ca.caPem), `connection ${i} (of 8, handed round-robin to 2 workers) has the staple`);
    assert.equal(responder.requests(), 1, 'the master asked the responder once for both workers');
    await run!.stop();
    const again = await start(leaf);
    await run!.waitFor(/ocsp: staple in storage .*status=good/, 20_000);
    assert.ok(await firstStaple(again, ca.caPem));
    assert.equal(responder.requests(), 1, 'a restart staples the stored response without asking again');
  });

  it('logs a revoked certificate as an error, and staples the revoked status', async () => {
    const rport = await freePort();
    const leaf = ca.issue(NAME, `http://127.0.0.1:${rport}`);
    ca.revoke(leaf.serial);
    await ca.respond({ port: rport });
    const port = await start(leaf);
    await run!.waitFor(
      new RegExp(` error \\[tls\\] ocsp: the certificate is REVOKED; replace the certificate .*status=revoked .*reason=keyCompromise serial=${leaf.serial}`),
      20_000,
    );
    await firstStaple(port, ca.caPem);
    assert.match(await sClient(port, join(dir, 'ca.pem')), /Cert Status: revoked/);
  });

  it('serves without a staple when the responder is down, logs it, and retries with backoff until it answers', async () => {
    const rport = await freePort();
    const leaf = ca.issue(NAME, `http://127.0.0.1:${rport}`);
    const port = await start(leaf, 'retry 300ms');
    await run!.waitFor(/ warn \[tls\] ocsp: could not get a staple; serving without one .*attempt=2 .*retry_in_ms=600/, 20_000);
    assert.equal(await stapleOf(port, ca.caPem), undefined, 'no staple');
    assert.deepEqual([(await httpsGet(port, NAME, ca.caPem)).status], [200], 'the handshake and the request are fine');
    await ca.respond({ port: rport });
    await run!.waitFor(/ocsp: staple obtained .*status=good/, 20_000);
    assert.ok(await firstStaple(port, ca.caPem));
  });

  it('refuses a response signed by a responder the issuer did not delegate, and accepts a delegated one', async () => {
    const rport = await freePort();
    const leaf = ca.issue(NAME, `http://127.0.0.1:${rport}`);
    const rogue = TestCa.make(mkdtempSync(join(dir, 'other-'))).issue('rogue', undefined, { ocspSigning: true });
    const delegate = ca.issue('delegate', undefined, { ocspSigning: true });
    await ca.respond({ port: rport, signer: rogue });
    const port = await start(leaf, 'retry 300ms');
    await run!.waitFor(/ocsp: could not get a staple; serving without one .*not issued by the certificate's issuer/, 20_000);
    assert.equal(await stapleOf(port, ca.caPem), undefined, 'a bad response is never stapled');
    await ca.stop();
    await ca.respond({ port: rport, signer: delegate });
    await run!.waitFor(/ocsp: staple obtained .*status=good/, 20_000);
    assert.ok(await firstStaple(port, ca.caPem));
  });

  it('refreshes the staple halfway to its nextUpdate', async function () {
    this.timeout(90_000);
    const rport = await freePort();
    const leaf = ca.issue(NAME, `http://127.0.0.1:${rport}`);
    const responder = await ca.respond({ port: rport, minutes: 1 });
    const port = await start(leaf);
    const [, first] = await run!.waitFor(/ocsp: staple obtained .*this_update=(\S+)/, 20_000);
    const staple = await firstStaple(port, ca.caPem);
    const since = run!.output().length;
    const [, second] = await run!.waitFor(new RegExp(`^[^]{${since}}[^]*ocsp: staple obtained .*this_update=(\\S+)`), 45_000);
    assert.ok(Date.parse(second) - Date.parse(first) >= 29_000, `refreshed at half of the 60 s validity (${first} then ${second})`);
    assert.equal(responder.requests(), 2);
    let renewed: Buffer | undefined;
    for (let i = 0; i < 100 && (!renewed || renewed.equals(staple)); i++) renewed = await stapleOf(port, ca.caPem);
    assert.ok(renewed && !renewed.equals(staple), 'the workers staple the new response');
  });

  it('staples nothing with ocsp_stapling off, and asks no responder', async () => {
    const rport = await freePort();
    const leaf = ca.issue(NAME, `http://127.0.0.1:${rport}`);
    const responder = await ca.respond({ port: rport });
    const port = await start(leaf, 'ocsp_stapling off');
    assert.equal((await httpsGet(port, NAME, ca.caPem)).status, 200);
    assert.equal(await stapleOf(port, ca.caPem), undefined);
    assert.equal(responder.requests(), 0);
    assert.doesNotMatch(run!.output(), /ocsp:/);
  });
});
