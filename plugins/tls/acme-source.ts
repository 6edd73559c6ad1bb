import { createPrivateKey, X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../../core/index.js';
import type { AcmeSettings } from './acme-settings.js';
import { AcmeStore } from './acme-store.js';
import type { CertPair } from './certs.js';

/** RECHECK is how often a worker reads its certificate again without being told (storage another machine writes, where inotify is silent). */
const RECHECK = 60_000;

/**
 * AcmeSource is a worker's view of one `tls acme` certificate: the one in storage, or the
 * temporary self-signed one until the master has one; it watches the storage folder and hands
 * each new certificate to the kernel, which swaps it in without a reload. It also answers the
 * challenges the master publishes there.
 */
export class AcmeSource {
  private readonly store: AcmeStore;
  private current: CertPair;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;

  constructor(
    private readonly s: AcmeSettings,
    temporary: () => CertPair,
    private readonly log: Logger,
  ) {
    this.store = new AcmeStore(s.storage);
    this.current = this.stored() ?? temporary();
  }

  /** pair is the certificate to serve now. */
  get pair(): CertPair {
    return this.current;
  }

  /** watch calls `update` with each new certificate the master writes, until close(). */
  watch(update: (pair: CertPair) => void): void {
    const look = (): void => {
      this.pending = undefined;
      const next = this.stored();
      if (!next || next.cert === this.current.cert) return;
      this.current = next;
      update(next);
    };
    const soon = (): void => {
      this.pending ??= setTimeout(look, 20);
    }; // one read for the key's and the certificate's renames
    try {
      this.watcher = watch(this.store.certDir(this.s.directory, this.s.names[0]), soon);
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.log.warn('acme: cannot watch the certificate folder; checking it every minute', { error: (e as Error).message });
    }
    this.timer = setInterval(look, RECHECK);
    this.timer.unref();
    look(); // written between the first read and the watch
  }

  /** http01 is the key authorization of a pending HTTP-01 challenge for one of this server's names. */
  http01(host: string, token: string): string | undefined {
    if (!this.s.names.includes(host)) return undefined;
    const a = this.store.http01(token);
    return a?.host === host ? a.keyAuthorization : undefined;
  }

  /** tlsAlpn01 is the certificate of a pending TLS-ALPN-01 challenge for one of this server's names. */
  tlsAlpn01(servername: string): CertPair | undefined {
    return this.s.names.includes(servername) ? this.store.tlsAlpn01(servername) : undefined;
  }

  /** close stops watching. */
  close(): void {
    this.watcher?.close();
    clearInterval(this.timer);
    clearTimeout(this.pending);
  }

  /** stored reads the certificate in storage when it is whole: it parses and its key is its own (not half-way through a renewal). */
  private stored(): CertPair | undefined {
    let pair: CertPair | undefined;
    try {
      pair = this.store.readCert(this.s.directory, this.s.names[0]);
    } catch {
      return undefined;
    }
    if (!pair) return undefined;
    try {
      return new X509Certificate(pair.cert).checkPrivateKey(createPrivateKey(pair.key)) ? pair : undefined;
    } catch {
      return undefined;
    }
  }
}
