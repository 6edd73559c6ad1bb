import { diagnostic, HttpError, spanOf, type Ctx, type Diagnostic, type Next, type Span, type TemplateLike, type HandlerUnit } from '../../core/index.js';
import { LimitedBody } from './body.js';
import { parseRate } from './bucket.js';
import { counts, LocalCounters, type Counters, type Release } from './counters.js';
import type { LimitConfig } from './schema.js';

const CLOSE = { connection: 'close' };

/** CountersSource gives a block its counters at provision: the master's (with workers), falling back on `local`. */
export type CountersSource = (local: LocalCounters, at: Span) => Promise<Counters>;

/**
 * LimitUnit bounds request bodies (413), their pace (408), the request rate (429 with
 * Retry-After) and requests in flight (429). With workers, the rates and counts in flight
 * live in the master, so every worker sees the same ones.
 */
export class LimitUnit implements HandlerUnit {
  /** rateKeys: the key template of each `rate` line, by index (undefined: $remote). */
  private readonly rateKeys: (TemplateLike | undefined)[];
  /** connKey: the key of `connections`, or null without one. */
  private readonly connKey: TemplateLike | undefined | null;
  private counters: Counters;
  private readonly local: LocalCounters;
  private readonly body: number;
  private readonly idle: number;

  constructor(
    private readonly cfg: LimitConfig,
    private readonly at: Span,
    private readonly source?: CountersSource,
  ) {
    this.rateKeys = (cfg.rate ?? []).map((r) => r.key);
    this.connKey = cfg.connections ? cfg.connections.key : null;
    this.counters = this.local = new LocalCounters(cfg);
    this.body = cfg.body ?? Infinity;
    this.idle = cfg.body_timeout ?? Infinity;
  }

  async provision(): Promise<void> {
    if (this.source && counts(this.cfg)) this.counters = await this.source(this.local, this.at);
  }

  async close(): Promise<void> {
    const c = this.counters;
    this.counters = this.local;
    await c.close?.();
  }

  validate(): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const [i, r] of (this.cfg.rate ?? []).entries()) {
      if (parseRate(r.rate) === undefined)
        out.push(
          diagnostic(
            'GK_LIMIT_BAD_RATE',
            `invalid rate '${r.rate}' for 'limit'`,
            spanOf(this.cfg.rate, i) ?? this.at,
            'expected requests per time, like 10/s, 600/m or 1000/h',
          ),
        );
    }
    if (this.cfg.on_store_error !== undefined && this.cfg.store?.mode !== 'shared') {
      out.push(
        diagnostic(
          'GK_LIMIT_STORE_POLICY',
          "'on_store_error' applies to a shared limit only",
          spanOf(this.cfg, 'on_store_error') ?? this.at,
          'add store shared, or drop on_store_error',
        ),
      );
    }
    if (Object.keys(this.cfg).length === 0)
      out.push(diagnostic('GK_LIMIT_EMPTY', "'limit' sets no limit", this.at, 'add body, body_timeout, rate or connections'));
    return out;
  }

  async handle(ctx: Ctx, next: Next): Promise<void> {
    if (this.rateKeys.length !== 0 || this.connKey !== null) await this.admit(ctx);
    if (!ctx.upgrade) this.limitBody(ctx);
    return next();
  }

  /**
   * admit spends the request's tokens and counts it in flight, or throws 429. The counters
   * may answer later (the master's do), so the request is followed from the start: a client
   * that leaves meanwhile goes no further, and what was counted for it is released.
   */
  private async admit(ctx: Ctx): Promise<void> {
    const stay = new Stay(ctx);
    for (const [i, key] of this.rateKeys.entries()) {
      const wait = await this.counters.take(i, keyOf(ctx, key));
      if (wait > 0) throw new HttpError(429, 'rate limit exceeded', { headers: { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) } });
      stay.check();
    }
    if (this.connKey === null) return;
    const counted = await this.counters.enter(keyOf(ctx, this.connKey));
    if (!counted) throw new HttpError(429, 'too many requests in flight', { headers: { 'retry-after': '1' } });
    stay.hold(counted);
    stay.check();
  }

  private limitBody(ctx: Ctx): void {
    const declared = ctx.req.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.body) {
      throw new HttpError(413, `request body larger than ${this.body} bytes`, { headers: CLOSE });
    }
    const hasBody = declared !== undefined ? declared !== '0' : ctx.req.headers['transfer-encoding'] !== undefined;
    if (hasBody && (Number.isFinite(this.body) || Number.isFinite(this.idle))) ctx.body = new LimitedBody(ctx.body, this.body, this.idle);
  }
}

/** Stay follows a request from its admission: whether its client is gone, and what to release when it goes. */
class Stay {
  private gone = false;
  private release: Release | undefined;

  constructor(ctx: Ctx) {
    const leave = (): void => {
      this.gone = true;
      this.release?.();
      this.release = undefined;
    };
    ctx.res.once('close', () => {
      if (!ctx.upgraded) leave();
    });
    ctx.upgrade?.socket.once('close', leave);
  }

  /** hold keeps a count in flight until the response (or upgraded connection) closes. */
  hold(release: Release): void {
    if (this.gone) release();
    else this.release = release;
  }

  /** check stops a request whose client left while the counters answered (499, as Nginx logs it). */
  check(): void {
    if (this.gone) throw new HttpError(499, 'client closed the request');
  }
}

function keyOf(ctx: Ctx, key: TemplateLike | undefined): string {
  return key ? ctx.render(key) : ctx.remote;
}
