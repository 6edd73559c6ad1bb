import { bind, inject, injectable, LOGGER, STORE, type Logger, type Plugin, type SharedStore } from '../../core/index.js';
import { CacheUnit } from './handler.js';
import { cache } from './schema.js';
import { makeStore } from './stores.js';

/** CachePlugin owns `cache`: an HTTP cache (RFC 9111) in front of any handler, in memory, on disk or in the global store. */
@injectable()
export class CachePlugin implements Plugin {
  readonly name = 'cache';
  readonly directives = [bind(cache, (cfg, at) => new CacheUnit(cfg, at, this.log, (c, log) => makeStore(c, log, this.store)))];
  readonly variables = [{ name: 'cache_status', doc: 'what the cache did: HIT, MISS, EXPIRED, STALE, UPDATING, REVALIDATED or BYPASS, set by cache' }];
  private readonly log: Logger;

  constructor(
    @inject(LOGGER) log: Logger,
    @inject(STORE) private readonly store: SharedStore,
  ) {
    this.log = log.child({ plugin: this.name });
  }
}
