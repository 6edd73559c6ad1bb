import { inject, injectable, LOGGER, ROUTER, STORE, type Dispatcher, type Logger, type Plugin, type SharedStore, type Span, type Unit } from '../../core/index.js';
import { CacheUnit } from './handler.js';
import { cache, type CacheConfig } from './schema.js';
import { makeStore } from './stores.js';

/** CachePlugin owns `cache`: an HTTP cache (RFC 9111) in front of any handler, in memory, on disk or in the global store. */
@injectable()
export class CachePlugin implements Plugin {
  readonly name = 'cache';
  readonly directives = [cache];
  readonly variables = [
    { name: 'cache_status', doc: 'what the cache did: HIT, MISS, EXPIRED, STALE, UPDATING, REVALIDATED or BYPASS, set by cache' },
  ];
  private readonly log: Logger;

  constructor(@inject(LOGGER) log: Logger, @inject(ROUTER) private readonly router: Dispatcher, @inject(STORE) private readonly store: SharedStore) {
    this.log = log.child({ plugin: this.name });
  }

  create(_directive: string, config: unknown, at: Span): Unit {
    return new CacheUnit(config as CacheConfig, at, this.log, (cfg, log) => makeStore(cfg, log, this.store), this.router);
  }
}
