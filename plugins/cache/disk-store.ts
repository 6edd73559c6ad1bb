// Entries as files under one folder, shared by every worker of a machine: each is written
// to a temporary file and renamed into place, so a reader sees a whole entry or none, and the
// folder outlives restarts and reloads. Past max_size, the least recently used go first.

import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, statSync, type Stats, type WriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/index.js';
import { CorruptEntry, encodeHead, FIRST_READ, readEntry, readHead } from './disk-entry.js';
import { FileLocks } from './disk-lock.js';
import { StoreGeneration } from './disk-generation.js';
import { DiskSpace } from './disk-space.js';
import { RecentMap } from './recent-map.js';
import { HEAD_COST, type CacheStore, type EntryMeta, type EntryWriter, type StoredEntry } from './store.js';

/** TOUCH_EVERY is how often a hit marks its entry as used (its mtime), which orders eviction. */
const TOUCH_EVERY = 30_000;
/** INDEXED is how many entries a worker keeps in its index: their heads, and the bodies of small ones. */
const INDEXED = 4096;
/** INDEXED_BYTES bounds the bodies (and heads, counted as HEAD_COST) a worker's index holds. */
const INDEXED_BYTES = 16 * 1024 * 1024;
/** RECHECK_EVERY bounds how long an indexed entry is answered without a stat of its file, should the generation miss a change (a file changed by hand). */
const RECHECK_EVERY = 1000;

/** Indexed is what a worker knows of an entry on disk: the identity of its file when read, and the entry. */
interface Indexed {
  readonly path: string;
  readonly ino: number;
  readonly size: number;
  /** mtimeMs is the file's mtime, as read or as this worker's touch set it. */
  mtimeMs: number;
  readonly entry: StoredEntry;
  /** generation is the store's generation when the file was last known to be this entry's. */
  generation: number;
  checkedAt: number;
  touchedAt: number;
}

/** DiskStore keeps entries in files under `dir` (see the file comment). */
export class DiskStore implements CacheStore {
  private readonly tmp: string;
  /** locks are shared by the workers through files in the folder's `locks` folder. */
  readonly locks: FileLocks;
  /**
   * index holds the entries this worker read lately, answered at once (peek) while the store's
   * generation says no entry changed since their file was checked: a hit makes no system call.
   */
  private readonly index = new RecentMap<Indexed>(INDEXED_BYTES, INDEXED);
  private readonly generation: StoreGeneration;
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
    this.generation = new StoreGeneration(dir, this.tmp);
    this.space = new DiskSpace(dir, maxSize, log, () => this.changed());
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

  /** pathOf is the file of a key. */
  private pathOf(key: string): string {
    const h = createHash('sha256').update(key).digest('hex');
    return join(this.dir, h.slice(0, 2), h);
  }

  async get(key: string): Promise<StoredEntry | undefined> {
    const held = this.peek(key);
    if (held) return held;
    const path = this.pathOf(key);
    // the generation before the read: a change made while it runs gets the file checked again
    const [gen, now] = [this.generation.current(), this.generation.now()];
    const found = await this.read(path, key);
    if (!found) return undefined;
    const { entry, st } = found;
    const at: Indexed = { path, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, entry, generation: gen, checkedAt: now, touchedAt: 0 };
    this.index.set(key, at, (entry.body?.length ?? 0) + HEAD_COST);
    this.touch(at, now);
    return entry;
  }

  /** peek answers from the index (see `index`); an entry whose file may have changed since is checked with one stat first. */
  peek(key: string): StoredEntry | undefined {
    const at = this.index.get(key);
    if (!at) return undefined;
    const gen = this.generation.current();
    const now = this.generation.now();
    if ((at.generation !== gen || now - at.checkedAt > RECHECK_EVERY) && !this.stillThere(key, at, gen, now)) return undefined;
    this.touch(at, now);
    return at.entry;
  }

  /** stillThere tells whether an indexed entry's file is the one read, dropping the entry from the index when not. */
  private stillThere(key: string, at: Indexed, gen: number, now: number): boolean {
    let st: Stats | undefined;
    try {
      st = statSync(at.path, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    } // a folder that is not one (ENOTDIR): gone
    if (!st || st.ino !== at.ino || st.size !== at.size || st.mtimeMs !== at.mtimeMs) {
      this.index.delete(key);
      return false;
    }
    at.generation = gen;
    at.checkedAt = now;
    return true;
  }

  private async read(path: string, key: string): Promise<{ entry: StoredEntry; st: Stats } | undefined> {
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
      return { entry: await readEntry(fh, first.subarray(0, bytesRead), st.size, st.ino, path, key), st };
    } catch (e) {
      this.log.warn('cache: dropped a corrupt entry', { key, file: path, error: (e as Error).message });
      if (e instanceof CorruptEntry) {
        await unlink(path).catch(() => {});
        this.changed();
      }
      return undefined;
    } finally {
      await fh.close();
    }
  }

  /**
   * touch sets an entry's mtime to now (at most every TOUCH_EVERY), which eviction reads as
   * its last use, and then takes the mtime set as the one its file is known by.
   */
  private touch(at: Indexed, now: number): void {
    if (now - at.mtimeMs < TOUCH_EVERY || now - at.touchedAt < TOUCH_EVERY) return;
    at.touchedAt = now;
    void utimes(at.path, now / 1000, now / 1000)
      .then(() => stat(at.path))
      .then((st) => {
        if (st.ino === at.ino && st.size === at.size) at.mtimeMs = st.mtimeMs;
      })
      .catch(() => {});
  }

  /** changed tells every worker that an entry changed (see StoreGeneration). */
  private changed(): void {
    try {
      this.generation.bump();
    } catch (e) {
      this.fail('cannot mark a change of the cache folder', e);
    }
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
              this.index.delete(meta.key);
              this.changed();
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
    for (const k of [...this.index.keys()]) if (prefix ? k.startsWith(key) : k === key) this.index.delete(k);
    if (n) this.changed();
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
