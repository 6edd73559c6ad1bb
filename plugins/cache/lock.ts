/**
 * KeyLocks lets one request per key go to the handler while the others wait for its answer
 * to be stored (Nginx's proxy_cache_lock), each for at most a timeout. Per worker.
 */
export class KeyLocks {
  private readonly held = new Map<string, { readonly done: Promise<void>; readonly release: () => void }>();

  /** take makes the caller the one that fetches `key`, returning its release; undefined when another holds it. */
  take(key: string): (() => void) | undefined {
    if (this.held.has(key)) return undefined;
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = () => { if (this.held.get(key)?.done === done) this.held.delete(key); resolve(); };
    });
    this.held.set(key, { done, release });
    return release;
  }

  /** wait resolves once the holder of `key` released it, or after `timeout` ms; true when it was released. */
  async wait(key: string, timeout: number): Promise<boolean> {
    const h = this.held.get(key);
    if (!h) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeout); });
    try {
      return await Promise.race([h.done.then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** close releases every waiter. */
  close(): void {
    for (const h of [...this.held.values()]) h.release();
  }
}
