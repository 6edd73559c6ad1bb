import { constants, type Stats } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import { HttpError } from '../../core/index.js';
import { servable, type RootRules } from './request-path.js';

/** FileEntry is a regular file found inside the root, with its validators and, when small, its bytes. */
export interface FileEntry {
  /** real is the file's resolved path (what gets opened). */
  readonly real: string;
  readonly stat: Stats;
  /** etag is a strong entity tag from size and modification time. */
  readonly etag: string;
  readonly lastModified: string;
  /** mtime is the modification time in whole seconds. */
  readonly mtime: number;
  /** body holds the whole file for small, settled files. */
  readonly body?: Buffer;
  /** head memoises the headers of a whole-file 200 from memory (they depend only on the file and the unit). */
  head?: OutgoingHttpHeaders;
}

/** CacheLimits bound the memory a FileCache holds. */
export interface CacheLimits {
  /** maxFile is the largest file kept in memory. */
  readonly maxFile: number;
  /** maxTotal is the most bytes kept in memory across files. */
  readonly maxTotal: number;
  /** maxEntries is the most files remembered (with or without their bytes). */
  readonly maxEntries: number;
}

const DEFAULT_LIMITS: CacheLimits = { maxFile: 256 * 1024, maxTotal: 64 * 1024 * 1024, maxEntries: 10_000 };
/** SETTLE_MS: a file modified this recently is not kept in memory (file times are coarse: "racy git"). */
const SETTLE_MS = 2000;
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

/** sameFile tells whether two stats describe the same unchanged file. */
function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/**
 * FileCache remembers the files it has checked, keyed by path and validated on every request
 * by (dev, ino, size, mtime, ctime) from a fresh stat, so a changed file is never served stale.
 * It also keeps the bytes of small files that have settled. Eviction is first in, first out.
 */
export class FileCache {
  private readonly entries = new Map<string, FileEntry>();
  private bytes = 0;

  constructor(private readonly limits: CacheLimits = DEFAULT_LIMITS) {}

  /** get returns the entry for `path` when `st` (a fresh stat of it) shows the file unchanged. */
  get(path: string, st: Stats): FileEntry | undefined {
    const e = this.entries.get(path);
    if (e === undefined) return undefined;
    // A small file first seen while still settling has no bytes yet: load it again once it settles.
    const unsettled = !e.body && st.size <= this.limits.maxFile && Date.now() - st.mtimeMs > SETTLE_MS;
    if (sameFile(e.stat, st) && !unsettled) return e;
    this.drop(path, e);
    return undefined;
  }

  /**
   * load checks a file the cache does not know: its real path must be servable under `rules`,
   * then it is remembered, with its bytes when small. Undefined means "not served".
   */
  async load(path: string, st: Stats, rules: RootRules): Promise<FileEntry | undefined> {
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      return undefined;
    }
    if (!servable(real, rules)) return undefined;
    let entry = makeEntry(real, st);
    if (st.size <= this.limits.maxFile && Date.now() - st.mtimeMs > SETTLE_MS) entry = (await readSmall(entry)) ?? entry;
    this.add(path, entry);
    return entry;
  }

  /** open opens an entry's file for streaming and returns the entry as the open file now is; unreadable is 403. */
  async open(e: FileEntry): Promise<{ fh: FileHandle; entry: FileEntry }> {
    const fh = await open(e.real, OPEN_FLAGS).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EACCES' || err.code === 'EPERM' ? new HttpError(403, undefined, { cause: err }) : err;
    });
    try {
      const st = await fh.stat();
      return { fh, entry: sameFile(st, e.stat) ? e : makeEntry(e.real, st) };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** clear forgets everything. */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private add(path: string, e: FileEntry): void {
    const old = this.entries.get(path);
    if (old) this.drop(path, old);
    this.entries.set(path, e);
    this.bytes += e.body?.length ?? 0;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.limits.maxTotal && this.entries.size <= this.limits.maxEntries) break;
      this.drop(k, v);
    }
  }

  private drop(path: string, e: FileEntry): void {
    this.entries.delete(path);
    this.bytes -= e.body?.length ?? 0;
  }
}

function makeEntry(real: string, st: Stats): FileEntry {
  const micros = Math.round(st.mtimeMs * 1000);
  return {
    real,
    stat: st,
    etag: `"${micros.toString(16)}-${st.size.toString(16)}"`,
    lastModified: st.mtime.toUTCString(),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

/** readSmall reads a small file whole; undefined when it changed while being read. */
async function readSmall(e: FileEntry): Promise<FileEntry | undefined> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(e.real, OPEN_FLAGS);
    const before = await fh.stat();
    if (!sameFile(before, e.stat)) return undefined;
    const body = await fh.readFile();
    const after = await fh.stat();
    return sameFile(after, e.stat) && body.length === e.stat.size ? { ...e, body } : undefined;
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}
