import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CertPair } from './certs.js';

/** CertStatus is what the master last did for a certificate: for `gatekit certs`, and for its successor after a restart. */
export interface CertStatus {
  readonly names: readonly string[];
  /** lastAttempt, lastError and nextAttempt are epoch ms; lastError is absent after a success. */
  readonly lastAttempt?: number;
  readonly lastError?: string;
  readonly nextAttempt?: number;
  /** failures counts the attempts that failed in a row (the backoff's exponent). */
  readonly failures?: number;
}

/** AccountFile is an ACME account: its key (PEM) and, once registered, its URL at the CA. */
export interface AccountFile {
  readonly key: string;
  readonly url?: string;
}

/** Http01Answer is a pending HTTP-01 challenge: the name it proves and the body the CA expects. */
export interface Http01Answer {
  readonly host: string;
  readonly keyAuthorization: string;
}

/**
 * AcmeStore is the storage folder of `tls acme`: accounts and certificates per CA, pending
 * challenges, and locks. Folders are made 0700 and files 0600 (keys live here), and every file
 * is written whole under another name and renamed into place, so a reader (a worker, another
 * gatekit sharing the folder) sees the old file or the new one, never half of one.
 */
export class AcmeStore {
  constructor(readonly root: string) {}

  /** caDir is the folder of one CA: its directory URL's host and path, made safe as one folder name. */
  caDir(directory: string): string {
    return join(this.root, caName(directory));
  }

  /** certDir is the folder of the certificate named after `name` (a server's first name), from one CA. */
  certDir(directory: string, name: string): string {
    return join(this.caDir(directory), 'certificates', name);
  }

  /** readCert reads a stored certificate and its key, or undefined when there is none (yet). */
  readCert(directory: string, name: string): CertPair | undefined {
    const dir = this.certDir(directory, name);
    const cert = readOptional(join(dir, 'cert.pem'));
    const key = readOptional(join(dir, 'key.pem'));
    return cert !== undefined && key !== undefined ? { cert, key } : undefined;
  }

  /** writeCert stores a certificate: the key first, so a reader that sees the new certificate sees its key too. */
  writeCert(directory: string, name: string, pair: CertPair): void {
    const dir = this.certDir(directory, name);
    writePrivate(join(dir, 'key.pem'), pair.key);
    writePrivate(join(dir, 'cert.pem'), pair.cert);
  }

  /** readStatus reads what the master last did for a certificate. */
  readStatus(directory: string, name: string): CertStatus | undefined {
    return readJson<CertStatus>(join(this.certDir(directory, name), 'status.json'));
  }

  /** writeStatus records what the master did for a certificate. */
  writeStatus(directory: string, name: string, status: CertStatus): void {
    writePrivate(join(this.certDir(directory, name), 'status.json'), JSON.stringify(status));
  }

  /** readAccount reads the account for a contact address (or none) at a CA. */
  readAccount(directory: string, email: string | undefined): AccountFile | undefined {
    return readJson<AccountFile>(this.accountFile(directory, email));
  }

  /** writeAccount stores an account key and URL. */
  writeAccount(directory: string, email: string | undefined, account: AccountFile): void {
    writePrivate(this.accountFile(directory, email), JSON.stringify(account));
  }

  private accountFile(directory: string, email: string | undefined): string {
    return join(this.caDir(directory), 'accounts', `${(email ?? 'default').replace(/[^A-Za-z0-9@._+-]+/g, '_')}.json`);
  }

  /** putHttp01 publishes an HTTP-01 answer for the workers (of every gatekit sharing the folder). */
  putHttp01(token: string, answer: Http01Answer): void {
    writePrivate(join(this.root, 'challenges', 'http-01', `${token}.json`), JSON.stringify(answer));
  }

  /** http01 reads a pending HTTP-01 answer; `token` must be base64url, which the caller checks. */
  http01(token: string): Http01Answer | undefined {
    return readJson<Http01Answer>(join(this.root, 'challenges', 'http-01', `${token}.json`));
  }

  /** dropHttp01 removes an HTTP-01 answer once the CA is done with it. */
  dropHttp01(token: string): void {
    rmSync(join(this.root, 'challenges', 'http-01', `${token}.json`), { force: true });
  }

  /** putTlsAlpn01 publishes the TLS-ALPN-01 certificate for a name. */
  putTlsAlpn01(name: string, pair: CertPair): void {
    writePrivate(join(this.root, 'challenges', 'tls-alpn-01', `${name}.json`), JSON.stringify(pair));
  }

  /** tlsAlpn01 reads the TLS-ALPN-01 certificate pending for a name. */
  tlsAlpn01(name: string): CertPair | undefined {
    return readJson<CertPair>(join(this.root, 'challenges', 'tls-alpn-01', `${name}.json`));
  }

  /** dropTlsAlpn01 removes a name's TLS-ALPN-01 certificate. */
  dropTlsAlpn01(name: string): void {
    rmSync(join(this.root, 'challenges', 'tls-alpn-01', `${name}.json`), { force: true });
  }

  /** lockFile is the lock of one certificate at one CA: whoever holds it may order that certificate. */
  lockFile(directory: string, name: string): string {
    return join(this.caDir(directory), 'locks', `${name}.lock`);
  }
}

/** caName names a CA by its directory URL's host and path, made safe as one folder name (or key part). */
export function caName(directory: string): string {
  const u = new URL(directory);
  return `${u.host}${u.pathname}`.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** makePrivateDir makes a folder (and its parents) that only this user may enter. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** writePrivate writes a file only this user may read, whole: to a temporary name, then renamed over the old one. */
export function writePrivate(file: string, text: string): void {
  makePrivateDir(dirname(file));
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function readJson<T>(file: string): T | undefined {
  const text = readOptional(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
