import type { Span } from '../../core/index.js';
import { parseRate, TokenBuckets } from './bucket.js';
import type { LimitConfig } from './schema.js';

/** Release ends one request's count in flight; calling it again does nothing. */
export type Release = () => void;

/**
 * Counters hold one `limit` block's token buckets (one per `rate` line, by index) and its
 * requests in flight: in this process, or in the master for every worker at once.
 */
export interface Counters {
  /** take spends a token of rate `rate` for `key`: 0 when there was one, else the milliseconds until there will be. */
  take(rate: number, key: string): number | Promise<number>;
  /** enter counts a request in flight for `key`; undefined when `key` already has the most allowed. */
  enter(key: string): Release | undefined | Promise<Release | undefined>;
  /** close lets go of what the counters hold outside this process. */
  close?(): Promise<void>;
}

/** LocalCounters keep the counts in this process. */
export class LocalCounters implements Counters {
  /** signature is what the counts depend on: a block whose signature is unchanged by a reload keeps them. */
  readonly signature: string;
  /** rateSpecs say what each rate line counts (rate, burst, key), and inFlightKey how requests in flight are told apart. */
  private readonly rateSpecs: readonly string[];
  private readonly inFlightKey: string | undefined;
  private readonly rates: (TokenBuckets | undefined)[];
  private readonly max: number;
  private inFlight = new Map<string, number>();

  constructor(cfg: LimitConfig) {
    this.rateSpecs = (cfg.rate ?? []).map((r) => JSON.stringify([r.rate, r.burst, r.key?.source ?? '']));
    this.inFlightKey = cfg.connections ? (cfg.connections.key?.source ?? '') : undefined;
    this.signature = JSON.stringify([this.rateSpecs, cfg.connections ? [cfg.connections.count, this.inFlightKey] : null]);
    this.rates = (cfg.rate ?? []).map((r) => {
      const perMs = parseRate(r.rate);
      return perMs === undefined ? undefined : new TokenBuckets(perMs, r.burst);
    });
    this.max = cfg.connections?.count ?? Infinity;
  }

  /**
   * inherit takes over what still holds from the counters of this block before a reload
   * changed it: the requests in flight, when they are keyed alike (only the most allowed
   * changed; the old workers' releases still reach them), and the buckets of each rate line
   * left as it was. A changed rate line starts afresh.
   */
  inherit(old: LocalCounters): void {
    if (this.inFlightKey !== undefined && this.inFlightKey === old.inFlightKey) this.inFlight = old.inFlight;
    this.rateSpecs.forEach((spec, i) => {
      const j = old.rateSpecs.indexOf(spec);
      if (j >= 0) this.rates[i] = old.rates[j];
    });
  }

  take(rate: number, key: string): number {
    return this.rates[rate]?.take(key) ?? 0;
  }

  enter(key: string): Release | undefined {
    const counts = this.inFlight;
    const n = counts.get(key) ?? 0;
    if (n >= this.max) return undefined;
    counts.set(key, n + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const m = (counts.get(key) ?? 1) - 1;
      if (m > 0) counts.set(key, m);
      else counts.delete(key);
    };
  }
}

/** shared tells whether a `limit` block keeps its rates and counts in the global store (`store shared`). */
export function shared(cfg: LimitConfig): boolean {
  return cfg.store?.mode === 'shared' && counts(cfg);
}

/**
 * zoneOf names a shared block's counts in the store: its own name (`store shared NAME`), or
 * where it is written: line and column in the main file (whatever it is called on each
 * instance), with the names (not paths) of the files that include it, so instances that run
 * the same config from different folders share them.
 */
export function zoneOf(cfg: LimitConfig, at: Span): string {
  const place = (s: Span): string =>
    s.includedFrom ? `${s.file.slice(s.file.lastIndexOf('/') + 1)}:${s.line}:${s.col}<${place(s.includedFrom)}` : `${s.line}:${s.col}`;
  return cfg.store?.zone ?? place(at);
}

/** counts tells whether a `limit` block counts anything (a rate or requests in flight), not only bodies. */
export function counts(cfg: LimitConfig): boolean {
  return (cfg.rate?.length ?? 0) > 0 || cfg.connections !== undefined;
}

/**
 * blockId names a `limit` block the same way in the master and in every worker: where it is
 * written, and through which includes or imports (one snippet imported twice is two blocks).
 */
export function blockId(at: Span): string {
  const here = `${at.file}:${at.line}:${at.col}`;
  return at.includedFrom ? `${here}<${blockId(at.includedFrom)}` : here;
}
