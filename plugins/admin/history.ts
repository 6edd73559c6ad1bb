import { DURATION_BUCKETS, type RouteCounts, type WorkerStats } from '../../core/index.js';

/** KEPT_POINTS is how many one-second points the dashboard's charts keep: 15 minutes. */
export const KEPT_POINTS = 900;

/** RoutePoint is one route's traffic over one sampling interval. */
export interface RoutePoint {
  readonly rps: number;
  /** p50 and p99 are estimated from the duration histogram, in seconds; null with no request. */
  readonly p50: number | null;
  readonly p99: number | null;
  /** codes count the interval's responses by status class. */
  readonly codes: Readonly<Record<string, number>>;
}

/** Point is every route's traffic over one interval ending at `t` (ms since the epoch); routes are keyed `server<TAB>route`. */
export interface Point {
  readonly t: number;
  readonly routes: Readonly<Record<string, RoutePoint>>;
}

const CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** quantile estimates the q-quantile of a histogram's counts (per bucket, not cumulative) as Prometheus's histogram_quantile does. */
export function quantile(q: number, buckets: readonly number[]): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (!total) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    if (below + buckets[i] >= rank && buckets[i] > 0) {
      if (i === DURATION_BUCKETS.length) return DURATION_BUCKETS[i - 1]; // beyond the last bound: the bound, as Prometheus does
      const lower = i === 0 ? 0 : DURATION_BUCKETS[i - 1];
      return lower + (DURATION_BUCKETS[i] - lower) * ((rank - below) / buckets[i]);
    }
    below += buckets[i];
  }
  return DURATION_BUCKETS[DURATION_BUCKETS.length - 1];
}

/**
 * History turns successive samples of the workers' totals into per-second points: the
 * difference of each worker's counts since its last sample (a worker seen for the first time,
 * or whose counts went down, counts from zero; one gone is dropped).
 */
export class History {
  private readonly points: Point[] = [];
  private last = new Map<string, Map<string, RouteCounts>>();
  private lastAt = 0;

  /** add takes one sample taken at `t` and returns the point it makes (undefined for the first). */
  add(t: number, workers: readonly WorkerStats[]): Point | undefined {
    const seconds = this.lastAt ? (t - this.lastAt) / 1000 : 0;
    const sums = new Map<string, { n: number; buckets: number[]; byClass: number[] }>();
    const next = new Map<string, Map<string, RouteCounts>>();
    for (const w of workers) {
      const id = `${w.pid}/${w.generation}`; // workers 0 serves each generation from a new gate, counting from zero
      const before = this.last.get(id);
      const now = new Map<string, RouteCounts>();
      for (const r of w.traffic.routes) {
        if (!r.buckets.some((n) => n > 0)) continue; // a route that never served a request has no line
        const key = `${r.server}\t${r.route}`;
        now.set(key, r);
        const prev = before?.get(key);
        const b = prev && prev.buckets.every((n, i) => n <= r.buckets[i]) ? prev : undefined; // counts that went down restarted
        const s = sums.get(key) ?? { n: 0, buckets: new Array<number>(r.buckets.length).fill(0), byClass: [0, 0, 0, 0, 0, 0] };
        r.buckets.forEach((v, i) => {
          const d = v - (b?.buckets[i] ?? 0);
          s.buckets[i] += d;
          s.n += d;
        });
        r.byClass.forEach((v, i) => {
          s.byClass[i] += v - (b?.byClass[i] ?? 0);
        });
        sums.set(key, s);
      }
      next.set(id, now);
    }
    this.last = next;
    this.lastAt = t;
    if (!seconds) return undefined;
    const routes: Record<string, RoutePoint> = {};
    for (const [key, s] of sums) {
      const codes: Record<string, number> = {};
      s.byClass.forEach((n, i) => {
        if (n) codes[CLASSES[i]] = n;
      });
      routes[key] = { rps: Math.round((s.n / seconds) * 10) / 10, p50: quantile(0.5, s.buckets), p99: quantile(0.99, s.buckets), codes };
    }
    const p = { t, routes };
    this.points.push(p);
    if (this.points.length > KEPT_POINTS) this.points.shift();
    return p;
  }

  /** all lists the points kept, oldest first. */
  all(): readonly Point[] {
    return this.points;
  }
}
