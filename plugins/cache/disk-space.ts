import { readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/index.js';

/** STALE_TEMP is the age past which a temporary file is a crashed writer's, removed at start. */
const STALE_TEMP = 10 * 60_000;
/** SWEEP_TO is the share of max_size a sweep brings the folder down to. */
const SWEEP_TO = 0.9;

/**
 * DiskSpace keeps a disk store under its size. Each worker counts what it writes on top of
 * what the folder held when it looked last; once past the size, it looks again (every
 * worker's entries) and removes the least recently used (oldest mtime; hits touch it).
 */
export class DiskSpace {
  private used = 0;
  private sweeping: Promise<void> | undefined;
  /** again: an entry came while a sweep ran, which may not have seen it. */
  private again = false;

  constructor(
    private readonly dir: string,
    private readonly maxSize: number,
    private readonly log: Logger,
    /** removed is told that a sweep removed entries. */
    private readonly removed: () => void,
  ) {}

  /** start counts the folder and removes crashed writers' temporary files. */
  async start(tmp: string): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(tmp)) {
      const p = join(tmp, name);
      const st = await stat(p).catch(() => undefined);
      if (st && now - st.mtimeMs > STALE_TEMP) await rm(p, { force: true });
    }
    this.used = (await this.sizes()).reduce((n, f) => n + f.size, 0);
    if (this.used > this.maxSize) await this.sweep();
  }

  /** added counts an entry written, sweeping when the folder is past its size. */
  added(bytes: number): void {
    this.used += bytes;
    // a sweep under way may have listed the folder before this entry came, and then sets
    // `used` without it: look again after it, whatever the count says now
    if (this.sweeping) {
      this.again = true;
      return;
    }
    if (this.used > this.maxSize) this.startSweep();
  }

  private startSweep(): void {
    this.sweeping = this.sweep().finally(() => {
      this.sweeping = undefined;
      if (this.again) {
        this.again = false;
        this.startSweep();
      }
    });
  }

  /** files lists every entry file. */
  async files(): Promise<string[]> {
    const out: string[] = [];
    for (const sub of await readdir(this.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(sub)) continue;
      for (const name of await readdir(join(this.dir, sub)).catch(() => [] as string[])) out.push(join(this.dir, sub, name));
    }
    return out;
  }

  private async sizes(): Promise<{ path: string; size: number; mtime: number }[]> {
    const out = [];
    for (const path of await this.files()) {
      const st = await stat(path).catch(() => undefined);
      if (st) out.push({ path, size: st.size, mtime: st.mtimeMs });
    }
    return out;
  }

  private async sweep(): Promise<void> {
    try {
      const files = (await this.sizes()).sort((a, b) => a.mtime - b.mtime);
      let total = files.reduce((n, f) => n + f.size, 0);
      let removed = 0;
      for (const f of files) {
        if (total <= this.maxSize * SWEEP_TO) break;
        if (
          await unlink(f.path).then(
            () => true,
            () => false,
          )
        ) {
          total -= f.size;
          removed++;
        }
      }
      this.used = total;
      if (removed) {
        this.removed();
        this.log.debug('cache: evicted least recently used entries', { dir: this.dir, removed, bytes: total });
      }
    } catch (e) {
      this.log.warn('cache: could not evict', { dir: this.dir, error: (e as Error).message });
    }
  }

  /** close waits for a sweep under way. */
  async close(): Promise<void> {
    while (this.sweeping) await this.sweeping;
  }
}
