import { X509Certificate } from 'node:crypto';
import type { ListenPlace, Logger, MasterPart, SharedStore, StoreLease } from '../../core/index.js';
import { AcmeChannel } from './acme-channel.js';
import type { LockHolder } from './acme-lock.js';
import type { ChallengeResponder } from './acme-order.js';
import { selfCheck } from './acme-probe.js';
import { RedisStorage } from './acme-redis.js';
import { MAX_RETRY, renewalTime, type AcmeSettings, type Challenge } from './acme-settings.js';
import { DiskStorage, type AcmeStorage } from './acme-storage.js';
import { AcmeStore, makePrivateDir } from './acme-store.js';
import type { CertPair } from './certs.js';

/** CertInfo is what the manager reads from a certificate: its validity, when to renew it, and who issued it. */
export interface CertInfo {
  readonly notBefore: number;
  readonly notAfter: number;
  readonly renewAt: number;
  readonly issuer: string;
  readonly serial: string;
}

/** certInfo reads a stored certificate's validity and issuer, or undefined when it does not parse. */
export function certInfo(pair: CertPair | undefined, renewBefore: number): CertInfo | undefined {
  if (!pair) return undefined;
  try {
    const c = new X509Certificate(pair.cert);
    const notBefore = Date.parse(c.validFrom);
    const notAfter = Date.parse(c.validTo);
    const issuer = /(?:^|\n)CN=([^\n]*)/.exec(c.issuer)?.[1] ?? c.issuer.replace(/\n/g, ', ');
    return { notBefore, notAfter, renewAt: renewalTime(notBefore, notAfter, renewBefore), issuer, serial: c.serialNumber };
  } catch {
    return undefined;
  }
}

/** LOCK_POLL is how often a manager looks again at a lock another gatekit holds. */
const LOCK_POLL = 1000;
/** MAX_TIMER is the longest delay Node's timers hold (about 24.8 days). */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * ManagedCertificate obtains and renews one `tls acme` certificate, in the master: it reads
 * what the storage folder holds, orders a certificate when there is none or it is due (under
 * the name's lock, so gatekits sharing the folder order it once), and otherwise sleeps until it
 * is due. A failed attempt is logged and retried with exponential backoff; the certificate in
 * storage (or the temporary self-signed one) keeps serving meanwhile. Workers pick up what it
 * writes by watching the folder.
 */
export class ManagedCertificate {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private waitingFor: LockHolder | undefined;
  /** known is the serial of the certificate this manager last saw in storage or obtained. */
  private known: string | undefined;
  /** revoked is the serial of a certificate its OCSP responder says is revoked: renewed at once, whatever its expiry. */
  private revoked: string | undefined;
  private readonly log: Logger;

  constructor(
    private readonly s: AcmeSettings,
    private readonly store: AcmeStorage,
    private readonly responder: ChallengeResponder,
    log: Logger,
  ) {
    this.log = log.child({ names: s.names.join(' ') });
  }

  private get name(): string {
    return this.s.names[0];
  }

  /** start schedules the first attempt: now when there is no certificate or it is due, else at its renewal time. */
  async start(): Promise<void> {
    makePrivateDir(this.store.local.certDir(this.s.directory, this.name)); // workers watch it
    const info = certInfo(await this.store.readCert(this.s.directory, this.name), this.s.renewBefore);
    if (!info) this.log.warn('acme: no certificate yet; a temporary self-signed certificate serves until the CA issues one', { ca: this.s.directory });
    else this.log.info('acme: certificate in storage', { issuer: info.issuer, expires: iso(info.notAfter), renew_at: iso(info.renewAt) });
    this.known = info?.serial;
    this.schedule(info ? info.renewAt - Date.now() : 0);
  }

  /** renewRevoked renews at once the certificate with `serial`, which its OCSP responder says is revoked (as Caddy does); it says so for the log. */
  renewRevoked(serial: string): string {
    if (this.revoked === serial) return 'its renewal is under way';
    this.revoked = serial;
    this.schedule(0);
    return 'renewing it now';
  }

  /** stop cancels what is scheduled; an attempt under way finishes (and releases its lock) but schedules nothing more. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const wait = Math.max(0, ms);
    this.timer = setTimeout(() => (wait > MAX_TIMER ? this.schedule(wait - MAX_TIMER) : void this.attempt()), Math.min(wait, MAX_TIMER));
    this.timer.unref();
  }

  /** attempt looks at storage first (another gatekit may have renewed), then orders under the lock when the certificate is due. */
  private async attempt(): Promise<void> {
    if (await this.adoptStored()) return;
    let lock: Awaited<ReturnType<AcmeStorage['lock']>>;
    try {
      lock = await this.store.lock(this.s.directory, this.name);
    } catch (e) {
      this.failed(
        new Error(`cannot take the order lock: ${(e as Error).message}`),
        certInfo(this.store.local.readCert(this.s.directory, this.name), this.s.renewBefore),
        Date.now(),
      );
      return;
    }
    if (!('release' in lock)) {
      if (!this.waitingFor) this.log.info('acme: another gatekit is obtaining this certificate; waiting for it', { pid: lock.pid, host: lock.host });
      this.waitingFor = lock;
      this.schedule(LOCK_POLL);
      return;
    }
    try {
      if (!(await this.adoptStored())) await this.order();
    } finally {
      await lock.release();
    }
  }

  /** adoptStored schedules the renewal of the stored certificate when it is not due yet, and says so. */
  private async adoptStored(): Promise<boolean> {
    const info = certInfo(await this.store.readCert(this.s.directory, this.name), this.s.renewBefore);
    if (!info || info.renewAt <= Date.now() || info.serial === this.revoked) return false;
    if (info.serial !== this.known)
      this.log.info('acme: certificate obtained by another gatekit, taken from storage', {
        issuer: info.issuer,
        serial: info.serial,
        expires: iso(info.notAfter),
      });
    this.known = info.serial;
    this.waitingFor = undefined;
    this.failures = 0;
    this.schedule(info.renewAt - Date.now());
    return true;
  }

  private async order(): Promise<void> {
    const before = certInfo(await this.store.readCert(this.s.directory, this.name), this.s.renewBefore);
    const started = Date.now();
    this.waitingFor = undefined;
    this.log.info(`acme: ${before ? 'renewing' : 'obtaining'} certificate`, { ca: this.s.directory, challenge: this.s.challenge, attempt: this.failures + 1 });
    try {
      const { obtainCertificate } = await import('./acme-order.js'); // acme-client loads only in a master that orders
      const pair = await obtainCertificate(this.s, this.store, this.responder);
      const info = certInfo(pair, this.s.renewBefore);
      if (!info) throw new Error('the CA sent a certificate that does not parse');
      await this.store.writeCert(this.s.directory, this.name, pair);
      this.known = info.serial;
      this.store.local.writeStatus(this.s.directory, this.name, { names: this.s.names, lastAttempt: started, nextAttempt: info.renewAt });
      this.failures = 0;
      this.log.info('acme: certificate obtained', {
        issuer: info.issuer,
        serial: info.serial,
        expires: iso(info.notAfter),
        renew_at: iso(info.renewAt),
        took_ms: Date.now() - started,
      });
      this.schedule(info.renewAt - Date.now());
    } catch (e) {
      this.failed(e, before, started);
    }
  }

  private failed(e: unknown, current: CertInfo | undefined, started: number): void {
    this.failures++;
    const wait = Math.min(this.s.retry * 2 ** (this.failures - 1), MAX_RETRY);
    const reason = describe(e);
    this.store.local.writeStatus(this.s.directory, this.name, {
      names: this.s.names,
      lastAttempt: started,
      lastError: reason,
      nextAttempt: Date.now() + wait,
      failures: this.failures,
    });
    const fields = { error: reason, attempt: this.failures, retry_in_ms: wait };
    if (current && current.notAfter > Date.now()) {
      this.log.warn(`acme: could not renew certificate; the current one keeps serving until it expires on ${iso(current.notAfter)}`, fields);
    } else {
      this.log.error(`acme: could not obtain certificate; ${current ? 'the expired one' : 'a temporary self-signed one'} serves meanwhile`, fields);
    }
    this.schedule(wait);
  }
}

/** describe turns a failure into one line; a request acme-client lost says so (see reachable). */
function describe(e: unknown): string {
  const message = ((e as Error)?.message ?? String(e)).replace(/\s+/g, ' ').trim();
  return /reading 'config'/.test(message) ? 'a request to the CA got no answer (connection lost)' : message;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * AcmeResponder publishes challenge answers in the storage, where every worker (of every
 * gatekit sharing it) finds them, and waits until a listener of ours shows the answer before
 * the CA is told to look.
 */
export class AcmeResponder implements ChallengeResponder {
  constructor(
    private readonly store: AcmeStorage,
    private readonly listens: readonly ListenPlace[],
    private readonly log: Logger,
  ) {}

  async present(type: Challenge, name: string, token: string, keyAuthorization: string): Promise<void> {
    const pair = type === 'tls-alpn-01' ? await alpnPair(name, keyAuthorization) : undefined;
    await this.store.present(pair ? { type: 'tls-alpn-01', name, token, pair } : { type: 'http-01', name, token, keyAuthorization });
    if (!(await selfCheck(type, name, token, pair?.cert ?? keyAuthorization, this.listens))) {
      this.log.warn(`acme: no listener of this gatekit showed the ${type} answer; asking the CA to check anyway`, { name });
    }
  }

  async remove(type: Challenge, name: string, token: string): Promise<void> {
    await this.store.remove({ type, name, token });
  }
}

/** alpnPair makes the TLS-ALPN-01 certificate that answers a challenge (acme-order.js loads only when one is asked). */
async function alpnPair(name: string, keyAuthorization: string): Promise<CertPair> {
  const { alpnCertificate } = await import('./acme-order.js');
  return alpnCertificate(name, keyAuthorization);
}

/** AcmeBlock is one `tls acme` of a config, as the master needs it: its settings and the listeners the CA's challenge can reach. */
export interface AcmeBlock {
  readonly settings: AcmeSettings;
  readonly listens: readonly ListenPlace[];
}

/** STORE_READY bounds the wait for the global store at start: a store that is down must not hold the master up. */
const STORE_READY = 2000;

/**
 * AcmeManager is the master part of `tls acme`: one ManagedCertificate per server that asks for
 * one, each on its storage: its folder, or the global store (one connection and one channel
 * for every `storage redis` block).
 */
export class AcmeManager implements MasterPart {
  private readonly certificates = new Map<AcmeBlock, ManagedCertificate>();
  private readonly storages: AcmeStorage[] = [];
  private lease: StoreLease | undefined;
  private channel: AcmeChannel | undefined;

  constructor(
    private readonly blocks: readonly AcmeBlock[],
    private readonly shared: SharedStore,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (const b of this.blocks) {
      const storage = b.settings.shared ? await this.sharedStorage(b.settings) : new DiskStorage(new AcmeStore(b.settings.storage));
      this.storages.push(storage);
      const c = new ManagedCertificate(b.settings, storage, new AcmeResponder(storage, b.listens, this.log), this.log);
      this.certificates.set(b, c);
      await c.start();
    }
  }

  /** renewRevoked renews a block's certificate at once (its OCSP responder says it is revoked); it says so for the log. */
  renewRevoked(block: AcmeBlock, serial: string): string {
    return this.certificates.get(block)?.renewRevoked(serial) ?? 'it is renewed once its manager starts';
  }

  async stop(): Promise<void> {
    for (const c of this.certificates.values()) c.stop();
    for (const s of this.storages) await s.close();
    this.channel?.close();
    await this.lease?.close();
  }

  private async sharedStorage(s: AcmeSettings): Promise<AcmeStorage> {
    if (!this.lease) {
      this.lease = await this.shared.open();
      if (!(await this.lease.ready(STORE_READY)))
        this.log.warn('acme: the store does not answer yet; certificates serve from the local copy meanwhile', { copy: s.storage });
      this.channel = new AcmeChannel(this.lease, this.log);
    }
    return new RedisStorage(this.lease, this.channel!, new AcmeStore(s.storage), s, this.log.child({ names: s.names.join(' ') }));
  }
}
