import type { EventEmitter } from 'node:events';

/**
 * Sweeper keeps what it watches (connections, sessions), each with what the last look saw of
 * it, and looks at each every `everyMs` while it holds any: its timer runs only then, and never
 * keeps the process alive. A watched thing leaves at its 'close', or when a look drops it.
 */
export class Sweeper<K extends EventEmitter, V> {
  private readonly open = new Map<K, V>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly everyMs: number,
    private readonly look: (key: K, seen: V, now: number) => void,
  ) {}

  /** watch adds `key`, with `seen` as what was seen of it so far, until its 'close'. */
  watch(key: K, seen: V): void {
    this.open.set(key, seen);
    this.timer ??= setInterval(() => this.sweep(), this.everyMs).unref();
    key.once('close', () => this.drop(key));
  }

  /** drop stops watching `key`. */
  drop(key: K): void {
    if (!this.open.delete(key) || this.open.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, seen] of this.open) this.look(key, seen, now);
  }
}
