import type { Release, SharedLocks } from './store.js';

/**
 * KeyLocks let one request per key go to the handler while the others wait for its answer
 * to be stored (Nginx's proxy_cache_lock), each for at most a timeout. Within a worker, the
 * first request for a key holds it and the others wait on a promise; with `shared` locks (a
 * store shared by several processes) that first request also takes the key there, or waits
 * for the process that holds it, so that one request in all goes to the handler.
 */
export class KeyLocks {
  private readonly held = new Map<string, { readonly done: Promise<void>; readonly release: Release }>();

  constructor(private readonly shared?: SharedLocks) {}

  /**
   * turn makes the caller the one that fetches `key` (its release), or waits, at most
   * `timeout` ms, for the one that does, and then resolves undefined. A holder keeps the key
   * at most `timeout` ms across processes (as proxy_cache_lock_age).
   */
  async turn(key: string, timeout: number): Promise<Release | undefined> {
    const h = this.held.get(key);
    if (h) {
      await settledWithin(h.done, timeout);
      return undefined;
    }
    const local = this.hold(key);
    if (!this.shared) return local;
    const start = performance.now();
    const shared = await this.shared.take(key, timeout);
    if (shared)
      return () => {
        shared();
        local();
      };
    await this.shared.wait(key, timeout, timeout - (performance.now() - start));
    local();
    return undefined;
  }

  /** once runs `work` unless this worker or, with shared locks, another process runs it for `key` now; false when one does. */
  async once(key: string, age: number, work: () => Promise<unknown>): Promise<boolean> {
    if (this.held.has(key)) return false;
    const local = this.hold(key);
    const shared = this.shared ? await this.shared.take(key, age) : local;
    if (!shared) {
      local();
      return false;
    }
    void work().finally(() => {
      shared();
      local();
    });
    return true;
  }

  /** holds tells whether this worker runs (or fetches) `key` now: a sure 'no' from once() or turn(), without waiting. */
  holds(key: string): boolean {
    return this.held.has(key);
  }

  /** close releases every waiter. */
  close(): void {
    for (const h of [...this.held.values()]) h.release();
  }

  private hold(key: string): Release {
    let release!: Release;
    const done = new Promise<void>((resolve) => {
      release = () => {
        if (this.held.get(key)?.done === done) this.held.delete(key);
        resolve();
      };
    });
    this.held.set(key, { done, release });
    return release;
  }
}

/** settledWithin resolves when `p` does or after `ms`, whichever comes first. */
async function settledWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
