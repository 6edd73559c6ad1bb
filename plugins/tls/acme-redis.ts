import { randomBytes, X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger, StoreLease } from '../../core/index.js';
import type { AcmeChannel, AcmeEvent } from './acme-channel.js';
import type { LockHolder } from './acme-lock.js';
import type { AcmeSettings } from './acme-settings.js';
import { dropLocal, putLocal, type AcmeStorage, type ChallengeId, type PendingChallenge, type StorageLock } from './acme-storage.js';
import { caName, type AccountFile, type AcmeStore } from './acme-store.js';
import type { CertPair } from './certs.js';

/** LOCK_TTL is how long an order lock lives unrefreshed: its holder refreshes it every LOCK_REFRESH, so an older one was left by a crash. */
const LOCK_TTL = 120_000;
const LOCK_REFRESH = 20_000;
/** CHALLENGE_TTL bounds how long a challenge answer stays in the store if its publisher dies before taking it down. */
const CHALLENGE_TTL = 600_000;
/** ACK_WAIT bounds the wait for every instance to acknowledge a challenge answer before the CA is told to look. */
const ACK_WAIT = 5000;

// compare-and-set scripts: only the holder of the lock (its random value) refreshes or releases it
const REFRESH = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/**
 * RedisStorage is AcmeStorage in the global store (`storage redis`), shared by every instance
 * using it: the certificate and its key in one hash (one HSET, announced on the channel in the
 * same transaction), the account as one value, the order lock as SET NX PX with a random value,
 * and pending challenges, which every instance copies to its local folder so whichever one the
 * CA reaches can answer. Everything is also kept in `local`, which this machine's workers read:
 * when the store is down, the master carries on from it (one log line per outage), and what it
 * stored meanwhile goes to the store when it answers again.
 */
export class RedisStorage implements AcmeStorage {
  private failing = false;
  private readonly stopListening: () => void;

  constructor(
    private readonly lease: StoreLease,
    private readonly channel: AcmeChannel,
    readonly local: AcmeStore,
    private readonly s: AcmeSettings,
    private readonly log: Logger,
  ) {
    this.stopListening = channel.listen((e) => this.heard(e));
  }

  async readCert(directory: string, name: string): Promise<CertPair | undefined> {
    try {
      const pair = await this.reconcile(directory, name);
      this.answered();
      return pair;
    } catch (e) {
      this.unanswered(e);
      return this.local.readCert(directory, name);
    }
  }

  async writeCert(directory: string, name: string, pair: CertPair): Promise<void> {
    this.local.writeCert(directory, name, pair); // this machine's workers serve it at once, store or not
    try {
      await this.share(directory, name, pair);
      this.answered();
    } catch (e) {
      this.unanswered(e);
      this.log.warn('acme: certificate kept on local disk only; it goes to the store when the store answers again');
    }
  }

  async readAccount(directory: string, email: string | undefined): Promise<AccountFile | undefined> {
    try {
      const text = await this.lease.redis.get(this.key(caName(directory), 'account', email ?? 'default'));
      this.answered();
      if (text) return JSON.parse(text) as AccountFile;
    } catch (e) {
      this.unanswered(e);
    }
    return this.local.readAccount(directory, email);
  }

  async writeAccount(directory: string, email: string | undefined, account: AccountFile): Promise<void> {
    this.local.writeAccount(directory, email, account);
    try {
      await this.lease.redis.set(this.key(caName(directory), 'account', email ?? 'default'), JSON.stringify(account));
    } catch (e) {
      this.unanswered(e);
    }
  }

  /** lock takes the order lock in the store; a store that does not answer throws, so nobody orders blind. */
  async lock(directory: string, name: string): Promise<StorageLock | LockHolder> {
    const key = this.key(caName(directory), 'lock', name);
    const value = JSON.stringify({ pid: process.pid, host: hostname(), since: Date.now(), token: randomBytes(16).toString('hex') });
    if ((await this.lease.redis.set(key, value, 'PX', LOCK_TTL, 'NX')) !== 'OK') {
      const held = await this.lease.redis.get(key);
      return holderOf(held) ?? { pid: 0, host: 'another gatekit', since: Date.now() };
    }
    const timer = setInterval(() => {
      this.lease.redis
        .eval(REFRESH, 1, key, value, LOCK_TTL)
        .catch((e: Error) => this.log.warn('acme: cannot refresh the order lock in the store', { error: e.message }));
    }, LOCK_REFRESH);
    timer.unref();
    return {
      release: async () => {
        clearInterval(timer);
        await this.lease.redis
          .eval(RELEASE, 1, key, value)
          .catch((e: Error) => this.log.warn('acme: cannot release the order lock; it expires by itself', { error: e.message }));
      },
    };
  }

  /** present writes the answer here, puts it in the store, and waits (bounded) until every instance listening says it has it too. */
  async present(c: PendingChallenge): Promise<void> {
    putLocal(this.local, c);
    const ack = this.key('ack', c.type, c.token);
    try {
      await this.lease.redis.set(this.key('challenge', c.type, c.name, c.token), JSON.stringify(c), 'PX', CHALLENGE_TTL);
      const heard = await this.channel.publish({ kind: 'challenge', put: true, ack, challenge: c });
      const got = await this.acknowledgements(ack, heard);
      if (got < heard) this.log.warn(`acme: ${got} of ${heard} instances took the ${c.type} answer in time; asking the CA to check anyway`, { name: c.name });
    } catch (e) {
      this.log.warn(`acme: cannot share the ${c.type} answer through the store; only this instance can answer it`, {
        name: c.name,
        error: (e as Error).message,
      });
    }
  }

  async remove(c: ChallengeId): Promise<void> {
    dropLocal(this.local, c);
    try {
      await this.lease.redis.del(this.key('challenge', c.type, c.name, c.token));
      await this.channel.publish({ kind: 'challenge', put: false, ack: this.key('ack', c.type, c.token), challenge: c });
    } catch {
      /* it expires by itself */
    }
  }

  async close(): Promise<void> {
    this.stopListening();
  }

  private key(...parts: string[]): string {
    return `${this.lease.prefix}acme:${parts.join(':')}`;
  }

  /** reconcile makes the store and the local copy hold the same, newer, certificate, and returns it. */
  private async reconcile(directory: string, name: string): Promise<CertPair | undefined> {
    const shared = pairOf(await this.lease.redis.hgetall(this.key(caName(directory), 'cert', name)));
    const local = this.local.readCert(directory, name);
    if (shared && (!local || issuedAt(shared) >= issuedAt(local))) {
      if (shared.cert !== local?.cert) {
        this.local.writeCert(directory, name, shared);
        this.log.info('acme: new certificate in the store, copied for this instance', { serial: serialOf(shared) });
      }
      return shared;
    }
    if (local) await this.share(directory, name, local); // stored here while the store was down, or the store lost it
    return local;
  }

  /** share stores a certificate and its key in one hash and tells every instance, in one transaction. */
  private async share(directory: string, name: string, pair: CertPair): Promise<void> {
    const event: AcmeEvent = { kind: 'cert', ca: caName(directory), name };
    await this.lease.redis
      .multi()
      .hset(this.key(event.ca, 'cert', name), 'cert', pair.cert, 'key', pair.key)
      .publish(this.channel.name, JSON.stringify(event))
      .exec();
  }

  private async acknowledgements(ack: string, wanted: number): Promise<number> {
    const until = Date.now() + ACK_WAIT;
    for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
      const got = await this.channel.acknowledged(ack);
      if (got >= wanted || Date.now() >= until) return got;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** heard acts on what another instance (or this one) announced: a certificate to copy, a challenge answer to show or take down. */
  private heard(e: AcmeEvent): void {
    const name = this.s.names[0];
    if (e.kind === 'resync' || (e.kind === 'cert' && e.ca === caName(this.s.directory) && e.name === name)) {
      void this.readCert(this.s.directory, name);
      if (e.kind === 'resync') void this.copyChallenges();
    } else if (e.kind === 'challenge' && this.s.names.includes(e.challenge.name)) {
      if (e.put) putLocal(this.local, e.challenge);
      else dropLocal(this.local, e.challenge);
    }
  }

  /** copyChallenges copies the pending answers for this block's names, which a reconnecting channel may have missed. */
  private async copyChallenges(): Promise<void> {
    try {
      for await (const keys of this.lease.redis.scanStream({ match: this.key('challenge', '*'), count: 100 }) as AsyncIterable<string[]>) {
        for (const text of keys.length ? await this.lease.redis.mget(...keys) : []) {
          const c = text ? (JSON.parse(text) as PendingChallenge) : undefined;
          if (c && this.s.names.includes(c.name)) putLocal(this.local, c);
        }
      }
    } catch {
      /* readCert logs the outage */
    }
  }

  private answered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.log.info('acme: the store answers again; certificates are shared again');
  }

  private unanswered(e: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.log.error('acme: the store did not answer; certificates keep serving from the local copy', { error: (e as Error).message });
  }
}

function pairOf(h: Record<string, string>): CertPair | undefined {
  return typeof h.cert === 'string' && typeof h.key === 'string' ? { cert: h.cert, key: h.key } : undefined;
}

function holderOf(text: string | null): LockHolder | undefined {
  try {
    return text ? (JSON.parse(text) as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

/** issuedAt is when a certificate became valid (epoch ms): the later of two is the renewal. */
function issuedAt(pair: CertPair): number {
  try {
    return Date.parse(new X509Certificate(pair.cert).validFrom);
  } catch {
    return -Infinity;
  }
}

function serialOf(pair: CertPair): string {
  try {
    return new X509Certificate(pair.cert).serialNumber;
  } catch {
    return '?';
  }
}
