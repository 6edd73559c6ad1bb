import type { Logger } from '../../core/index.js';
import { DiskStore } from './disk-store.js';
import { MemoryStore } from './memory-store.js';
import type { CacheConfig } from './schema.js';
import type { CacheStore } from './store.js';

/** StoreConfig is a checked `store` option. */
export interface StoreConfig {
  readonly kind: 'memory' | 'disk';
  readonly dir?: string;
  readonly max_size?: number;
}

/** storeConfig reads the `store` option (memory when absent). */
export function storeConfig(cfg: CacheConfig): StoreConfig {
  return cfg.store ?? { kind: 'memory' };
}

/** makeStore makes the store a `cache` block names. */
export async function makeStore(cfg: CacheConfig, log: Logger): Promise<CacheStore> {
  const s = storeConfig(cfg);
  if (s.kind === 'memory' || !s.dir) return new MemoryStore(s.max_size ?? 64 * 1024 * 1024);
  const disk = new DiskStore(s.dir, s.max_size ?? 1024 * 1024 * 1024, log);
  await disk.start();
  return disk;
}
