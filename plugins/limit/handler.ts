import { diagnostic, HttpError, spanOf, type Ctx, type Diagnostic, type Next, type Span, type TemplateLike, type Unit } from '../../core/index.js';
import { LimitedBody } from './body.js';
import { parseRate, TokenBuckets } from './bucket.js';
import type { LimitConfig } from './schema.js';

/** Keyed is a limit applied per value of a key template ($remote unless told). */
interface Keyed<T> { readonly key: TemplateLike | undefined; readonly state: T }

const CLOSE = { connection: 'close' };

/**
 * LimitUnit bounds request bodies (413), their pace (408), the request rate (429 with
 * Retry-After) and requests in flight (429). Counters live in this worker: with N workers a
 * client may get up to N times a rate when the kernel spreads its connections.
 */
export class LimitUnit implements Unit {
  private readonly rates: Keyed<TokenBuckets>[] = [];
  private readonly inFlight: Keyed<{ max: number; counts: Map<string, number> }> | undefined;
  private readonly body: number;
  private readonly idle: number;

  constructor(private readonly cfg: LimitConfig, private readonly at: Span) {
    for (const r of cfg.rate ?? []) {
      const perMs = parseRate(r.rate);
      if (perMs !== undefined) this.rates.push({ key: r.key, state: new TokenBuckets(perMs, r.burst ?? 1) });
    }
    const c = cfg.connections;
    this.inFlight = c ? { key: c.key, state: { max: c.count, counts: new Map() } } : undefined;
    this.body = cfg.body ?? Infinity;
    this.idle = cfg.body_timeout ?? Infinity;
  }

  validate(): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const [i, r] of (this.cfg.rate ?? []).entries()) {
      if (parseRate(r.rate) === undefined) out.push(diagnostic('GK_LIMIT_BAD_RATE', `invalid rate '${r.rate}' for 'limit'`, spanOf(this.cfg.rate, i) ?? this.at, 'expected requests per time, like 10/s, 600/m or 1000/h'));
    }
    if (Object.keys(this.cfg).length === 0) out.push(diagnostic('GK_LIMIT_EMPTY', "'limit' sets no limit", this.at, 'add body, body_timeout, rate or connections'));
    return out;
  }

  handle(ctx: Ctx, next: Next): Promise<void> {
    for (const r of this.rates) {
      const wait = r.state.take(keyOf(ctx, r.key));
      if (wait > 0) throw new HttpError(429, 'rate limit exceeded', { headers: { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) } });
    }
    if (this.inFlight) this.enter(ctx, this.inFlight);
    if (!ctx.upgrade) this.limitBody(ctx);
    return next();
  }

  private limitBody(ctx: Ctx): void {
    const declared = ctx.req.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.body) {
      throw new HttpError(413, `request body larger than ${this.body} bytes`, { headers: CLOSE });
    }
    const hasBody = declared !== undefined ? declared !== '0' : ctx.req.headers['transfer-encoding'] !== undefined;
    if (hasBody && (Number.isFinite(this.body) || Number.isFinite(this.idle))) ctx.body = new LimitedBody(ctx.body, this.body, this.idle);
  }

  /** enter counts a request in flight for its key until its response (or upgraded connection) closes. */
  private enter(ctx: Ctx, k: Keyed<{ max: number; counts: Map<string, number> }>): void {
    const key = keyOf(ctx, k.key);
    const counts = k.state.counts;
    const n = counts.get(key) ?? 0;
    if (n >= k.state.max) throw new HttpError(429, 'too many requests in flight', { headers: { 'retry-after': '1' } });
    counts.set(key, n + 1);
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      const m = (counts.get(key) ?? 1) - 1;
      if (m > 0) counts.set(key, m); else counts.delete(key);
    };
    ctx.res.once('close', () => { if (!ctx.upgraded) leave(); });
    ctx.upgrade?.socket.once('close', leave);
  }
}

function keyOf(ctx: Ctx, key: TemplateLike | undefined): string {
  return key ? ctx.render(key) : ctx.remote;
}
