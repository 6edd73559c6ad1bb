import { randomBytes } from 'node:crypto';
import { HttpError, type Logger, type StoreLease } from '../../core/index.js';
import { parseRate } from './bucket.js';
import type { Counters, Release } from './counters.js';
import type { LimitConfig } from './schema.js';
import { ENTER_SCRIPT, RATE_SCRIPT, RENEW_SCRIPT } from './store-scripts.js';
import { wireKey } from './wire.js';

/** LEASE: an entry in flight that its instance stops renewing (it died) is dropped after this long. */
const LEASE = 30_000;

/** LimitScripts are the store's scripts, as ioredis's defineCommand adds them (EVALSHA, EVAL when the store lost them). */
interface LimitScripts {
  gkLimitRate(key: string, msPer: number, burst: number): Promise<number>;
  gkLimitEnter(key: string, max: number, lease: number, id: string): Promise<number>;
  gkLimitRenew(key: string, lease: number, id: string): Promise<number>;
}

/** StorePolicy is `on_store_error`: what a request gets when the store cannot answer. */
export type StorePolicy = 'allow' | 'deny';

/**
 * StoreCounters keep one `limit` block's rates and requests in flight in the shared store,
 * for every instance that uses it (`store shared`). A store that is down, or slower than its
 * timeout, gets the block's policy for that request: let it through, or 503.
 */
export class StoreCounters implements Counters {
  private readonly scripts: LimitScripts;
  private readonly rates: ({ key: string; msPer: number; burst: number } | undefined)[];
  private readonly max: number;
  /** held are this process's entries in flight (id → key), renewed before their lease ends. */
  private readonly held = new Map<string, string>();
  private readonly renew: NodeJS.Timeout;
  private readonly instance = randomBytes(6).toString('base64url');
  private seq = 0;
  private failing = false;

  constructor(
    private readonly lease: StoreLease,
    private readonly zone: string,
    cfg: LimitConfig,
    private readonly policy: StorePolicy,
    private readonly log: Logger,
  ) {
    const redis = lease.redis;
    redis.defineCommand('gkLimitRate', { numberOfKeys: 1, lua: RATE_SCRIPT });
    redis.defineCommand('gkLimitEnter', { numberOfKeys: 1, lua: ENTER_SCRIPT });
    redis.defineCommand('gkLimitRenew', { numberOfKeys: 1, lua: RENEW_SCRIPT });
    this.scripts = redis as unknown as LimitScripts;
    this.rates = (cfg.rate ?? []).map((r, i) => {
      const perMs = parseRate(r.rate);
      return perMs === undefined ? undefined : { key: `${lease.prefix}limit:${zone}:r${i}:${r.rate}:${r.burst ?? 1}:`, msPer: 1 / perMs, burst: r.burst ?? 1 };
    });
    this.max = cfg.connections?.count ?? Infinity;
    this.renew = setInterval(() => this.renewAll(), LEASE / 3).unref();
  }

  async take(rate: number, key: string): Promise<number> {
    const r = this.rates[rate];
    if (!r) return 0;
    try {
      return this.answered(await this.scripts.gkLimitRate(r.key + wireKey(key), r.msPer, r.burst));
    } catch (e) {
      return this.unanswered(e as Error, 0);
    }
  }

  async enter(key: string): Promise<Release | undefined> {
    const k = `${this.lease.prefix}limit:${this.zone}:c:${wireKey(key)}`;
    const id = `${this.instance}:${this.seq++}`;
    try {
      if (this.answered(await this.scripts.gkLimitEnter(k, this.max, LEASE, id)) !== 1) return undefined;
    } catch (e) {
      this.lease.redis.zrem(k, id).catch(() => {}); // counted before the answer was late: best not to hold it for the lease
      return this.unanswered(e as Error, () => {});
    }
    this.held.set(id, k);
    return () => {
      if (!this.held.delete(id)) return;
      this.lease.redis.zrem(k, id).catch(() => {}); // a lost release ends with the lease
    };
  }

  async close(): Promise<void> {
    clearInterval(this.renew);
    const gone = [...this.held].map(([id, k]) => this.lease.redis.zrem(k, id).catch(() => {}));
    this.held.clear();
    await Promise.all(gone);
    await this.lease.close();
  }

  private renewAll(): void {
    for (const [id, k] of this.held) this.scripts.gkLimitRenew(k, LEASE, id).catch(() => {});
  }

  private answered<T>(answer: T): T {
    if (this.failing) {
      this.failing = false;
      this.log.info('limit: the store answers again; shared limits apply', { zone: this.zone });
    }
    return answer;
  }

  /** unanswered applies the policy to a request the store could not count, with one log line per outage. */
  private unanswered<T>(e: Error, allowed: T): T {
    if (!this.failing) {
      this.failing = true;
      this.log.error(
        `limit: the store did not answer; ${this.policy === 'allow' ? 'letting requests through' : 'refusing requests (503)'} until it does (on_store_error ${this.policy})`,
        { zone: this.zone, error: e.message },
      );
    }
    if (this.policy === 'deny') throw new HttpError(503, 'the limit store did not answer', { headers: { 'retry-after': '1' } });
    return allowed;
  }
}
