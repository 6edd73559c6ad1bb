// Locks shared by the workers of a machine, as files in the disk store's folder: a lock is a
// file created with O_EXCL (one creator wins), holding its creator's host and pid; it is
// given up by removing it. A lock older than its age, or whose process is gone, is broken by
// the next one that wants it. Waiters wake on the folder's change events, and look again at
// least every POLL in case an event was missed.

import { createHash, randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../core/index.js';
import type { SharedLocks } from './store.js';

/** AsyncRelease gives up a lock, resolving once it is given up. */
type AsyncRelease = () => Promise<void>;
/** Holder is what a lock file says: its holder's "host pid token", and when it was taken. */
interface Holder {
  readonly text: string;
  readonly mtime: number;
}

/** POLL bounds how long a waiter sleeps between two looks at a lock. */
const POLL = 100;
const HOST = hostname();

/** FileLocks are SharedLocks as files in `dir` (see the file comment). */
export class FileLocks implements SharedLocks {
  private watcher: FSWatcher | undefined;
  private watching = false;
  /** wakers wake the waiters of a lock file, by name. */
  private readonly wakers = new Map<string, Set<() => void>>();
  private seq = 0;
  private failing = false;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** take: see SharedLocks; the release resolves once the lock file is gone. */
  async take(name: string, age: number): Promise<AsyncRelease | undefined> {
    const path = this.pathOf(name);
    const mine = `${HOST} ${process.pid} ${randomBytes(6).toString('hex')}`;
    for (let tries = 0; tries < 3; tries++) {
      try {
        await writeFile(path, mine, { flag: 'wx' });
        this.failing = false;
        return this.releaser(path, mine);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && tries === 0) {
          await mkdir(this.dir, { recursive: true }).catch(() => {});
          continue;
        } // removed under us
        if (code !== 'EEXIST') return this.unlocked(e);
        const held = await holder(path);
        if (held && !abandoned(held, age)) return undefined;
        if (held) await this.breakLock(path, held.text);
      }
    }
    return undefined;
  }

  async wait(name: string, age: number, timeout: number): Promise<boolean> {
    const path = this.pathOf(name);
    const file = path.slice(this.dir.length + 1);
    const end = performance.now() + timeout;
    this.watchFolder();
    for (;;) {
      const held = await holder(path);
      if (!held || abandoned(held, age)) return true;
      const left = end - performance.now();
      if (left <= 0) return false;
      await this.changed(file, Math.min(left, POLL));
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    for (const set of this.wakers.values()) for (const wake of set) wake();
  }

  private pathOf(name: string): string {
    return join(this.dir, createHash('sha256').update(name).digest('hex'));
  }

  /** releaser removes the lock file, unless it is no longer the one this process made (broken, then taken by another). */
  private releaser(path: string, mine: string): AsyncRelease {
    let done: Promise<void> | undefined;
    return () =>
      (done ??= readFile(path, 'utf8')
        .then((text) => (text === mine ? unlink(path) : undefined))
        .catch(() => {}));
  }

  /**
   * breakLock removes an abandoned lock. It moves the file aside (one breaker wins), and puts
   * it back when what it moved is not the lock judged abandoned but a new holder's.
   */
  private async breakLock(path: string, judged: string): Promise<void> {
    const aside = `${path}.${process.pid}.${this.seq++}`;
    try {
      await rename(path, aside);
    } catch {
      return;
    }
    const text = await readFile(aside, 'utf8').catch(() => judged);
    if (text !== judged) await link(aside, path).catch(() => {});
    await unlink(aside).catch(() => {});
  }

  /** unlocked answers a lock that could not be made for another reason than a holder: this worker goes on alone, with one log line per outage. */
  private unlocked(e: unknown): AsyncRelease {
    if (!this.failing) {
      this.failing = true;
      this.log.warn('cache: cannot lock in the cache folder; each worker fills its own misses', { dir: this.dir, error: (e as Error).message });
    }
    return async () => {};
  }

  /** changed resolves when the folder reports a change to `file`, or after `ms`. */
  private changed(file: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.wakers.get(file) ?? new Set();
      this.wakers.set(file, set);
      const wake = (): void => {
        clearTimeout(timer);
        set.delete(wake);
        if (!set.size && this.wakers.get(file) === set) this.wakers.delete(file);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  /** watchFolder starts the one watcher of the folder, at the first wait; without one (no inotify left), waiters poll. */
  private watchFolder(): void {
    if (this.watching) return;
    this.watching = true;
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, file) => {
        if (file) for (const wake of [...(this.wakers.get(file.toString()) ?? [])]) wake();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.log.debug('cache: cannot watch the lock folder; waiters poll', { dir: this.dir, error: (e as Error).message });
    }
  }
}

/** holder reads a lock file: what its holder wrote, and when; undefined when there is none. */
async function holder(path: string): Promise<Holder | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, mtime: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** abandoned tells whether a lock is past its age or its process is gone (same host only: pids of others mean nothing here). */
function abandoned(held: Holder, age: number): boolean {
  if (Date.now() - held.mtime > age) return true;
  const [host, pid] = held.text.split(' ');
  if (host !== HOST || !Number(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
