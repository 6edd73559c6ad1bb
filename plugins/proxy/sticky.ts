import { createHmac } from 'node:crypto';
import type { Ctx } from '../../core/index.js';
import type { Balancer } from './balance.js';
import type { Upstream } from './upstream.js';

/** StickySpec is `balance cookie NAME { secret S; max_age D }`. */
export interface StickySpec {
  readonly name: string;
  readonly secret: string;
  readonly maxAge?: number;
}

/**
 * StickyCookie keeps a client on one upstream with a cookie (Traefik's sticky cookie, Caddy's
 * cookie policy): its value is HMAC-SHA256(secret, upstream), so it names no address, cannot
 * be forged without the secret, and is the same on every instance that shares the secret and
 * the upstreams: sticky sessions across machines with no shared state. A client without a
 * valid cookie, or whose upstream is down, gets one picked by `fallback` and a new cookie.
 */
export class StickyCookie {
  private readonly values = new Map<Upstream, string>();

  constructor(
    private readonly spec: StickySpec,
    upstreams: readonly Upstream[],
    private readonly fallback: Balancer,
  ) {
    for (const u of upstreams) this.values.set(u, createHmac('sha256', spec.secret).update(u.key).digest('base64url').slice(0, 22));
  }

  /** pick is the cookie's upstream when it is among the candidates, else the fallback's choice. */
  pick(ctx: Ctx, candidates: readonly Upstream[]): Upstream {
    const asked = ctx.variable(`cookie_${this.spec.name}`);
    if (asked) for (const u of candidates) if (this.values.get(u) === asked) return u;
    return this.fallback(candidates, ctx.remote);
  }

  /** follow sets the cookie on the answer when the upstream that served it (`served()`) is not the one the client named. */
  follow(ctx: Ctx, served: () => Upstream | undefined): void {
    ctx.onHead((head) => {
      const up = served();
      const value = up && this.values.get(up);
      if (!value || ctx.variable(`cookie_${this.spec.name}`) === value) return;
      const attrs = [
        'Path=/',
        'HttpOnly',
        'SameSite=Lax',
        ...(ctx.scheme === 'https' ? ['Secure'] : []),
        ...(this.spec.maxAge !== undefined ? [`Max-Age=${Math.floor(this.spec.maxAge / 1000)}`] : []),
      ];
      head.appendHeader('set-cookie', `${this.spec.name}=${value}; ${attrs.join('; ')}`);
    });
  }
}
