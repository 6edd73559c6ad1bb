import { statSync, type Stats } from 'node:fs';
import { HttpError } from '../core/index.js';

/**
 * statPath stats a path; it returns undefined when nothing is there (or a file stands where a
 * directory was expected) and throws HttpError(403) when the path may not be read. It is
 * synchronous on purpose, as nginx's stat is: on a local disk the inode is cached and a thread
 * pool round trip costs more than the call.
 */
export function statPath(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP') return undefined;
    if (code === 'EACCES' || code === 'EPERM') throw new HttpError(403);
    throw e;
  }
}

/**
 * TurnStats shares stat results among the requests handled in one turn of the event loop:
 * those were read from their sockets together, so one look at the disk answers them all (a
 * file changed after the turn began is seen by every request read after it). The results are
 * dropped when the turn ends, so nothing is trusted for longer than that.
 */
export class TurnStats<M = never> {
  private readonly seen = new Map<string, Stats | undefined>();
  /** memo holds what callers concluded from this turn's stats; it is dropped with them. */
  private readonly memo = new Map<string, M>();
  /** lastKey/lastValue: the entry recalled last, checked before hashing a new key string (hot files repeat). */
  private lastKey: string | undefined;
  private lastValue: M | undefined;
  private scheduled = false;
  private readonly forget = (): void => {
    this.clear();
    this.scheduled = false;
  };

  /** stat is statPath, shared within the current turn. */
  stat(path: string): Stats | undefined {
    const hit = this.seen.get(path);
    if (hit !== undefined || this.seen.has(path)) return hit;
    const st = statPath(path);
    this.seen.set(path, st);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.forget);
    }
    return st;
  }

  /** recall returns what remember() stored under `key` in the current turn. */
  recall(key: string): M | undefined {
    if (key === this.lastKey) return this.lastValue;
    const value = this.memo.get(key);
    if (value !== undefined) {
      this.lastKey = key;
      this.lastValue = value;
    }
    return value;
  }

  /**
   * remember stores a conclusion drawn from a stat of the current turn (so call it only right
   * after stat()); it is forgotten when the turn ends, with the stats.
   */
  remember(key: string, value: M): void {
    if (!this.scheduled) return;
    this.memo.set(key, value);
    if (key === this.lastKey) this.lastValue = value;
  }

  /** clear forgets everything now. */
  clear(): void {
    this.seen.clear();
    this.memo.clear();
    this.lastKey = this.lastValue = undefined;
  }
}
