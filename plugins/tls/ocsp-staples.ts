import { watch, type FSWatcher } from 'node:fs';
import { makePrivateDir } from './acme-store.js';
import { goodUntil, type Staple } from './ocsp-staple.js';
import { fingerprintOf } from './ocsp-subject.js';
import { readStaple } from './ocsp-store.js';

/** FORGET is how often a worker drops what it read, for storage another machine writes (where inotify is silent). */
const FORGET = 60_000;

/**
 * Staples is a worker's view of the staples the master stores: a handshake asks for the one of
 * the certificate it serves, and gets it from memory (read from disk once, again when the file
 * changes). It never blocks on a responder, and never gives a staple past its nextUpdate.
 */
export class Staples {
  private readonly cache = new Map<string, Staple | null>();
  private watcher: FSWatcher | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly dir: string) {
    makePrivateDir(dir);
    try {
      this.watcher = watch(dir, (_event, file) => {
        if (file) this.cache.delete(String(file).split('.')[0]);
        else this.cache.clear();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      /* FORGET still picks up new staples */
    }
    this.timer = setInterval(() => this.cache.clear(), FORGET);
    this.timer.unref();
  }

  /** staple is the DER OCSP response to staple for a certificate (DER, as Node's OCSPRequest event gives it), or undefined. */
  staple(certificate: Buffer): Buffer | undefined {
    const fp = fingerprintOf(certificate);
    let s = this.cache.get(fp);
    if (s === undefined) this.cache.set(fp, (s = readStaple(this.dir, fp) ?? null));
    return s && goodUntil(s) > Date.now() ? s.der : undefined;
  }

  /** close stops watching. */
  close(): void {
    this.watcher?.close();
    clearInterval(this.timer);
  }
}
