const SWEEP_AT = 10_000;

/** RATE_SYNTAX reads `10/s`, `600/m` or `1000/h` (a fraction like 0.5/s is allowed). */
export const RATE_SYNTAX = /^(\d+(?:\.\d+)?)\/(s|m|h)$/;
const PER: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** parseRate returns requests per millisecond, or undefined for a bad or zero rate. */
export function parseRate(text: string): number | undefined {
  const m = RATE_SYNTAX.exec(text);
  const n = m ? Number(m[1]) : 0;
  return n > 0 ? n / PER[m![2]] : undefined;
}

/**
 * TokenBuckets keeps one token bucket per key: it holds `capacity` tokens, refills at
 * `perMs` tokens a millisecond, and each request takes one. Buckets that have refilled
 * completely are forgotten when the map grows, so memory follows the active clients.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMs: number,
    private readonly capacity: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** take spends a token for `key`: 0 when there was one, else the milliseconds until there will be. */
  take(key: string): number {
    const t = this.now();
    const b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(t);
      this.buckets.set(key, { tokens: this.capacity - 1, at: t });
      return 0;
    }
    b.tokens = Math.min(this.capacity, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.perMs;
  }

  private sweep(t: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + (t - b.at) * this.perMs >= this.capacity) this.buckets.delete(k);
  }
}
