import { NameLock, type LockHolder } from './acme-lock.js';
import type { AccountFile, AcmeStore } from './acme-store.js';
import type { CertPair } from './certs.js';

/** StorageLock is a held certificate lock: whoever holds it may order that certificate. */
export interface StorageLock {
  release(): Promise<void>;
}

/** PendingChallenge is one challenge answer the CA may ask any instance for. */
export type PendingChallenge =
  | { readonly type: 'http-01'; readonly name: string; readonly token: string; readonly keyAuthorization: string }
  | { readonly type: 'tls-alpn-01'; readonly name: string; readonly token: string; readonly pair: CertPair };

/** ChallengeId names a pending challenge: enough to take it down. */
export type ChallengeId = Pick<PendingChallenge, 'type' | 'name' | 'token'>;

/**
 * AcmeStorage is where the master of `tls acme` keeps accounts, certificates, locks and pending
 * challenges: a folder (DiskStorage) or the global store (RedisStorage). Either way `local` is
 * the folder this machine's workers read certificates and challenge answers from, and where the
 * master records its status for `gatekit certs`.
 */
export interface AcmeStorage {
  readonly local: AcmeStore;
  readCert(directory: string, name: string): Promise<CertPair | undefined>;
  /** writeCert stores a certificate with its key, as one step: no reader sees one without the other. */
  writeCert(directory: string, name: string, pair: CertPair): Promise<void>;
  readAccount(directory: string, email: string | undefined): Promise<AccountFile | undefined>;
  writeAccount(directory: string, email: string | undefined, account: AccountFile): Promise<void>;
  /** lock takes a certificate's order lock, or tells who holds it. */
  lock(directory: string, name: string): Promise<StorageLock | LockHolder>;
  /** present publishes a challenge answer where every instance's listeners find it. */
  present(c: PendingChallenge): Promise<void>;
  remove(c: ChallengeId): Promise<void>;
  close(): Promise<void>;
}

/** DiskStorage is AcmeStorage in a folder (which several gatekits may share): the AcmeStore and its lock files. */
export class DiskStorage implements AcmeStorage {
  constructor(readonly local: AcmeStore) {}

  async readCert(directory: string, name: string): Promise<CertPair | undefined> {
    return this.local.readCert(directory, name);
  }
  async writeCert(directory: string, name: string, pair: CertPair): Promise<void> {
    this.local.writeCert(directory, name, pair);
  }
  async readAccount(directory: string, email: string | undefined): Promise<AccountFile | undefined> {
    return this.local.readAccount(directory, email);
  }
  async writeAccount(directory: string, email: string | undefined, a: AccountFile): Promise<void> {
    this.local.writeAccount(directory, email, a);
  }

  async lock(directory: string, name: string): Promise<StorageLock | LockHolder> {
    const lock = NameLock.take(this.local.lockFile(directory, name));
    return lock instanceof NameLock ? { release: async () => lock.release() } : lock;
  }

  async present(c: PendingChallenge): Promise<void> {
    putLocal(this.local, c);
  }
  async remove(c: ChallengeId): Promise<void> {
    dropLocal(this.local, c);
  }
  async close(): Promise<void> {}
}

/** putLocal writes a challenge answer in a storage folder, where this machine's workers look. */
export function putLocal(store: AcmeStore, c: PendingChallenge): void {
  if (c.type === 'http-01') store.putHttp01(c.token, { host: c.name, keyAuthorization: c.keyAuthorization });
  else store.putTlsAlpn01(c.name, c.pair);
}

/** dropLocal removes a challenge answer from a storage folder. */
export function dropLocal(store: AcmeStore, c: ChallengeId): void {
  if (c.type === 'http-01') store.dropHttp01(c.token);
  else store.dropTlsAlpn01(c.name);
}
