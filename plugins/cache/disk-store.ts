// Entries as files under one folder, shared by every worker of a machine: each is written
// to a temporary file and renamed into place, so a reader sees a whole entry or none, and the
// folder outlives restarts and reloads. Past max_size, the least recently used go first.

import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, statSync, type Stats, type WriteStream } from 'node:fs';
import { mkdir, open, rename, rm, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/index.js';
import { CorruptEntry, encodeHead, FIRST_READ, readEntry, readHead } from './disk-entry.js';
import { FileLocks } from './disk-lock.js';
import { DiskSpace } from './disk-space.js';
import type { CacheStore, EntryMeta, EntryWriter, StoredEntry } from './store.js';

/** TOUCH_EVERY is how often a hit marks its entry as used (its mtime), which orders eviction. */
const TOUCH_EVERY = 30_000;
/** HOT_ENTRIES is how many small entries a worker keeps in memory beside the files. */
const HOT_ENTRIES = 1024;

/** DiskStore keeps entries in files under `dir` (see the file comment). */
export class DiskStore implements CacheStore {
  private readonly tmp: string;
  /** locks are shared by the workers through files in the folder's `locks` folder. */
  readonly locks: FileLocks;
  private readonly touched = new Map<string, number>();
  private readonly paths = new Map<string, string>();
  /** stats are the files stat'ed in this event-loop turn (see statOf). */
  private readonly stats = new Map<string, Stats | undefined>();
  /** hot holds small entries read lately, with the identity of their files (see remember). */
  private readonly hot = new Map<string, { ino: number; mtimeMs: number; size: number; entry: StoredEntry }>();
  private readonly space: DiskSpace;
  private failing = false;
  private seq = 0;
  /** committing are the entries being written out, which close waits for (their size counts toward a sweep). */
  private readonly committing = new Set<Promise<void>>();

  constructor(
    private readonly dir: string,
    maxSize: number,
    private readonly log: Logger,
  ) {
    this.tmp = join(dir, 'tmp');
    this.locks = new FileLocks(join(dir, 'locks'), log);
    this.space = new DiskSpace(dir, maxSize, log);
  }

  /** start makes the folders and counts what the folder holds already. */
  async start(): Promise<void> {
    try {
      await mkdir(this.tmp, { recursive: true });
      await mkdir(join(this.dir, 'locks'), { recursive: true });
      await this.space.start(this.tmp);
    } catch (e) {
      this.fail('cannot use the cache folder', e);
    }
  }

  /** pathOf is the file of a key; the hash of the keys looked up lately is kept, as hits ask for the same few again and again. */
  private pathOf(key: string): string {
    let path = this.paths.get(key);
    if (path) return path;
    const h = createHash('sha256').update(key).digest('hex');
    path = join(this.dir, h.slice(0, 2), h);
    if (this.paths.size >= HOT_ENTRIES) this.paths.clear();
    this.paths.set(key, path);
    return path;
  }

  /**
   * statOf stats an entry's file at most once per event-loop turn: the requests of one turn
   * see the same file, and the next turn sees whatever another worker renamed into place.
   */
  private statOf(path: string): Stats | undefined {
    if (this.stats.has(path)) return this.stats.get(path);
    let st: Stats | undefined;
    try {
      st = statSync(path, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    } // a folder that is not one (ENOTDIR): a miss
    if (!this.stats.size) setImmediate(() => this.stats.clear());
    this.stats.set(path, st);
    return st;
  }

  async get(key: string): Promise<StoredEntry | undefined> {
    const held = this.peek(key);
    if (held) return held;
    const path = this.pathOf(key);
    const st = this.statOf(path);
    if (!st) return undefined;
    const entry = await this.read(path, key);
    if (entry?.body && st.size <= FIRST_READ) this.remember(path, st, entry);
    return entry;
  }

  /** peek answers from the entries held in memory whose file is still the one read (see statOf). */
  peek(key: string): StoredEntry | undefined {
    const path = this.pathOf(key);
    const hot = this.hot.get(path);
    if (!hot) return undefined;
    const st = this.statOf(path);
    if (!st || hot.ino !== st.ino || hot.mtimeMs !== st.mtimeMs || hot.size !== st.size) return undefined;
    this.touch(path, st.mtimeMs);
    return hot.entry;
  }

  /**
   * remember keeps a small entry read from disk in this worker's memory, keyed by its file's
   * identity: a stat tells whether the file is still the one read (renames make new inodes).
   */
  private remember(path: string, st: Stats, entry: StoredEntry): void {
    if (this.hot.size >= HOT_ENTRIES) this.hot.delete(this.hot.keys().next().value!);
    this.hot.set(path, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, entry });
  }

  private async read(path: string, key: string): Promise<StoredEntry | undefined> {
    let fh;
    try {
      fh = await open(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const st = await fh.stat();
      const first = Buffer.allocUnsafe(Math.min(FIRST_READ, st.size));
      const { bytesRead } = await fh.read(first, 0, first.length, 0);
      const entry = await readEntry(fh, first.subarray(0, bytesRead), st.size, st.ino, path, key);
      this.touch(path, st.mtimeMs);
      return entry;
    } catch (e) {
      this.log.warn('cache: dropped a corrupt entry', { key, file: path, error: (e as Error).message });
      if (e instanceof CorruptEntry) {
        await unlink(path).catch(() => {});
        this.stats.delete(path);
      }
      return undefined;
    } finally {
      await fh.close();
    }
  }

  /** touch sets an entry's mtime to now (at most every TOUCH_EVERY), which eviction reads as its last use. */
  private touch(path: string, mtime: number): void {
    const now = Date.now();
    if (now - mtime < TOUCH_EVERY || now - (this.touched.get(path) ?? 0) < TOUCH_EVERY) return;
    this.touched.set(path, now);
    if (this.touched.size > 10_000) this.touched.clear();
    void utimes(path, now / 1000, now / 1000).catch(() => {});
  }

  open(meta: Omit<EntryMeta, 'size'>): EntryWriter {
    const final = this.pathOf(meta.key);
    const temp = join(this.tmp, `${process.pid}-${this.seq++}-${randomBytes(4).toString('hex')}`);
    let out: WriteStream | undefined;
    let error: Error | undefined;
    let size = 0;
    const start = (): WriteStream => {
      const s = createWriteStream(temp);
      s.on('error', (e) => {
        error ??= e;
      });
      const head = encodeHead(meta);
      size += head.length;
      s.write(head);
      return s;
    };
    return {
      write: (chunk) => {
        if (!error) {
          (out ??= start()).write(chunk);
          size += chunk.length;
        }
      },
      commit: () =>
        this.track(async () => {
          const s = (out ??= start());
          await new Promise<void>((resolve) => s.end(resolve));
          if (!error) {
            try {
              await mkdir(join(final, '..'), { recursive: true });
              await rename(temp, final);
              this.stats.delete(final);
              this.space.added(size);
              this.failing = false;
              return;
            } catch (e) {
              error = e as Error;
            }
          }
          await rm(temp, { force: true }).catch(() => {});
          this.fail('cannot write a cache entry', error);
        }),
      abort: () => {
        error ??= new Error('aborted');
        out?.destroy();
        void rm(temp, { force: true }).catch(() => {});
      },
    };
  }

  async update(meta: EntryMeta): Promise<void> {
    const entry = await this.get(meta.key);
    if (!entry) return;
    const w = this.open(meta);
    try {
      if (entry.body) w.write(entry.body);
      else for await (const chunk of entry.stream()) w.write(chunk as Buffer);
      await w.commit();
    } catch (e) {
      w.abort();
      this.fail('cannot refresh a cache entry', e);
    }
  }

  async purge(key: string, prefix: boolean): Promise<number> {
    const n = prefix
      ? await this.purgePrefix(key)
      : await unlink(this.pathOf(key)).then(
          () => 1,
          () => 0,
        );
    this.stats.clear(); // what this turn stat'ed may be gone
    return n;
  }

  private async purgePrefix(key: string): Promise<number> {
    let n = 0;
    for (const path of await this.space.files()) {
      const hit = await this.keyOf(path);
      if (hit?.startsWith(key))
        n += await unlink(path).then(
          () => 1,
          () => 0,
        );
    }
    return n;
  }

  /** keyOf reads the key in an entry's head; undefined for a file that is no entry. */
  private async keyOf(path: string): Promise<string | undefined> {
    try {
      const fh = await open(path, 'r');
      try {
        const first = Buffer.allocUnsafe(4096);
        const { bytesRead } = await fh.read(first, 0, first.length, 0);
        return (await readHead(fh, first.subarray(0, bytesRead), (await fh.stat()).size)).parsed.key;
      } finally {
        await fh.close();
      }
    } catch {
      return undefined;
    }
  }

  /** fail logs a store failure once until the store works again: requests are served as if uncached meanwhile. */
  private fail(what: string, e: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.log.error(`cache: ${what}; serving uncached`, { dir: this.dir, error: (e as Error | undefined)?.message });
  }

  /** track keeps a commit under way until it ends, for close. */
  private track(commit: () => Promise<void>): Promise<void> {
    const p = commit().finally(() => this.committing.delete(p));
    this.committing.add(p);
    return p;
  }

  /** close waits for the entries being written, then for the sweep they may have started. */
  async close(): Promise<void> {
    this.locks.close();
    while (this.committing.size) await Promise.all(this.committing);
    return this.space.close();
  }
}
