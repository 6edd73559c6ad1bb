import type { Ctx, HandlerUnit, Next } from '../../core/index.js';
import { encodeBody, type EncodePolicy } from './encoder.js';
import { ENCODINGS, negotiate, typeMatcher, type Encoding } from './negotiate.js';
import type { CompressConfig } from './schema.js';

/**
 * CompressUnit negotiates a content coding with each client and puts a body filter in the
 * way of each response, which encodes the eligible ones as they stream; a HEAD gets the head
 * its GET would. Upgrades pass through untouched.
 */
export class CompressUnit implements HandlerUnit {
  private readonly offered: readonly Encoding[];
  private readonly policy: EncodePolicy;

  constructor(cfg: CompressConfig) {
    // Option keys keep the order they were written in, which is the order of preference.
    const listed = Object.keys(cfg).filter((k): k is Encoding => (ENCODINGS as readonly string[]).includes(k));
    this.offered = listed.length ? listed : ['gzip'];
    const isType = typeMatcher(cfg.types);
    this.policy = {
      minSize: cfg.min_size,
      gzipLevel: Math.min(9, cfg.level ?? 6),
      brQuality: cfg.level ?? 4,
      isType,
    };
  }

  handle(ctx: Ctx, next: Next): Promise<void> {
    if (ctx.upgrade) return next();
    const enc = negotiate(ctx.req.headers['accept-encoding'], this.offered);
    ctx.filterBody(encodeBody(enc, this.policy));
    return next();
  }
}
