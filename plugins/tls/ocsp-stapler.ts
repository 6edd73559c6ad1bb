import type { Logger } from '../../core/index.js';
import { makePrivateDir } from './acme-store.js';
import { fetchOcsp, ocspRequest } from './ocsp-request.js';
import { checkResponse } from './ocsp-response.js';
import { goodUntil, refreshAt, type Staple } from './ocsp-staple.js';
import { ocspSubject, type OcspSubject } from './ocsp-subject.js';
import { readStaple, writeStaple } from './ocsp-store.js';

/** FETCH_TIMEOUT bounds one request to a responder. */
const FETCH_TIMEOUT = 10_000;
/** MAX_RETRY caps the wait between failed fetches: a staple usually lives days, and is refreshed at half its life. */
const MAX_RETRY = 3_600_000;
/** RECHECK is how often the stapler of a managed certificate looks for a renewal in storage. */
const RECHECK = 30_000;

/** StapleSource says where one certificate's chain comes from, and what to do when it is revoked. */
export interface StapleSource {
  /** chain reads the certificate chain (PEM) to staple; undefined while there is none. */
  readonly chain: () => string | undefined;
  /** changes: the chain may change while gatekit runs (an ACME renewal): read it again now and then. */
  readonly changes: boolean;
  /** onRevoked is told when the responder says the certificate is revoked (ACME renews it); it returns what the log should say happens next. */
  readonly onRevoked?: (serial: string) => string;
}

/**
 * StapledCertificate keeps one certificate's OCSP response fresh, in the master: it takes the
 * one in storage when it still verifies and is not due, else asks the responder, checks the
 * answer and stores it for the workers; it asks again halfway to nextUpdate. A responder that
 * fails is logged and asked again with exponential backoff; the stored staple serves until its
 * nextUpdate meanwhile, and no staple after that (workers never staple a stale one).
 */
export class StapledCertificate {
  private timer: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private seen: string | undefined;
  private subject: OcspSubject | undefined;

  constructor(
    private readonly source: StapleSource,
    private readonly dir: string,
    private readonly retry: number,
    private readonly log: Logger,
  ) {}

  /** start looks at the certificate and schedules the first fetch (now, unless storage has a staple not yet due). */
  start(): void {
    makePrivateDir(this.dir);
    this.look();
    if (!this.source.changes) return;
    this.recheck = setInterval(() => this.look(), RECHECK);
    this.recheck.unref();
  }

  /** stop cancels what is scheduled; a fetch under way stores its answer but schedules nothing. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.recheck);
  }

  /** look reads the chain; a new certificate starts over: its stored staple when still good and not due, else a fetch now. */
  private look(): void {
    let pem: string | undefined;
    try {
      pem = this.source.chain();
    } catch {
      pem = undefined;
    }
    if (pem === undefined || pem === this.seen) return;
    this.seen = pem;
    this.failures = 0;
    clearTimeout(this.timer);
    let s: OcspSubject | string;
    try {
      s = ocspSubject(pem);
    } catch (e) {
      s = `the certificate does not parse (${(e as Error).message})`;
    }
    this.subject = typeof s === 'string' ? undefined : s;
    if (typeof s === 'string') {
      this.log.info(`ocsp: not stapling: ${s}`);
      return;
    }
    const stored = this.stored(s);
    if (stored) this.log.info('ocsp: staple in storage', { ...fields(stored), refresh_at: iso(refreshAt(stored)) });
    this.schedule(stored ? refreshAt(stored) - Date.now() : 0);
  }

  /** stored is the staple in storage for `s` when it still verifies (another gatekit or an earlier run may have fetched it). */
  private stored(s: OcspSubject): Staple | undefined {
    const st = readStaple(this.dir, s.fingerprint);
    try {
      return st && checkResponse(st.der, s);
    } catch {
      return undefined;
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.fetch(), Math.min(Math.max(0, ms), 2 ** 31 - 1));
    this.timer.unref();
  }

  private async fetch(): Promise<void> {
    const s = this.subject;
    if (!s) return;
    const stored = this.stored(s);
    if (stored && refreshAt(stored) > Date.now()) {
      this.schedule(refreshAt(stored) - Date.now());
      return;
    }
    let staple: Staple;
    try {
      staple = checkResponse(await fetchOcsp(s.responder, ocspRequest(s), FETCH_TIMEOUT), s);
    } catch (e) {
      if (s === this.subject) this.failed(e, stored);
      return;
    }
    if (s !== this.subject) return; // the certificate changed meanwhile
    writeStaple(this.dir, s.fingerprint, staple);
    this.failures = 0;
    this.report(s, staple);
    this.schedule(refreshAt(staple) - Date.now());
  }

  private report(s: OcspSubject, staple: Staple): void {
    if (staple.status === 'good') {
      this.log.info('ocsp: staple obtained', { ...fields(staple), refresh_at: iso(refreshAt(staple)) });
      return;
    }
    const next = this.source.onRevoked?.(s.leaf.serialNumber) ?? 'replace the certificate';
    this.log.error(`ocsp: the certificate is REVOKED; ${next}`, {
      ...fields(staple),
      serial: s.leaf.serialNumber,
      subject: s.leaf.subject.replace(/\n/g, ', '),
    });
  }

  private failed(e: unknown, current: Staple | undefined): void {
    this.failures++;
    const wait = Math.min(this.retry * 2 ** (this.failures - 1), MAX_RETRY);
    const fields = { responder: this.subject?.responder, error: (e as Error).message ?? String(e), attempt: this.failures, retry_in_ms: wait };
    if (current) this.log.warn(`ocsp: could not refresh the staple; the current one serves until ${iso(goodUntil(current))}`, fields);
    else this.log.warn('ocsp: could not get a staple; serving without one', fields);
    this.schedule(wait);
  }
}

function fields(s: Staple): Record<string, string> {
  return {
    status: s.status,
    this_update: iso(s.thisUpdate),
    next_update: s.nextUpdate === undefined ? 'none' : iso(s.nextUpdate),
    ...(s.revokedAt !== undefined ? { revoked_at: iso(s.revokedAt) } : {}),
    ...(s.reason ? { reason: s.reason } : {}),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
