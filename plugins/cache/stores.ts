import type { Logger, SharedStore } from '../../core/index.js';
import { DiskStore } from './disk-store.js';
import { MemoryStore } from './memory-store.js';
import { RedisCacheStore } from './redis-store.js';
import type { CacheConfig } from './schema.js';
import type { CacheStore } from './store.js';

/** StoreConfig is a checked `store` option. */
export interface StoreConfig {
  readonly kind: 'memory' | 'disk' | 'redis';
  readonly dir?: string;
  readonly max_size?: number;
}

/** storeConfig reads the `store` option (memory when absent). */
export function storeConfig(cfg: CacheConfig): StoreConfig {
  return cfg.store ?? { kind: 'memory' };
}

/** STORE_READY bounds the wait for the global store at provision; until it answers, lookups are misses. */
const STORE_READY = 1000;

/** makeStore makes the store a `cache` block names; `shared` is the global store, for `store redis`. */
export async function makeStore(cfg: CacheConfig, log: Logger, shared: SharedStore): Promise<CacheStore> {
  const r = cfg.store;
  if (r?.kind === 'redis') {
    if (!shared.settings) throw new Error("'cache { store redis }' needs a store: add global { store redis://HOST:PORT }");
    const lease = await shared.open();
    await lease.ready(STORE_READY);
    const keep = Math.max(cfg.stale_while_revalidate, cfg.stale_if_error);
    return new RedisCacheStore(lease, r.max_entry, keep, log, r.dir ? await diskStore(r.dir, r.max_size, log) : undefined);
  }
  const s = storeConfig(cfg);
  if (s.kind === 'memory' || !s.dir) return new MemoryStore(s.max_size ?? 64 * 1024 * 1024);
  return diskStore(s.dir, s.max_size, log);
}

async function diskStore(dir: string, maxSize: number | undefined, log: Logger): Promise<CacheStore> {
  const disk = new DiskStore(dir, maxSize ?? 1024 * 1024 * 1024, log);
  await disk.start();
  return disk;
}
