// How the workers that share a disk store tell each other that its entries changed, so that
// each may answer hits from what it holds in memory without a stat per hit: every change (an
// entry written, purged, evicted or dropped) appends a byte to one file, and a worker stats
// that file once per event-loop turn. The file only grows, so its size says whether anything
// changed since a worker looked; past GROWN bytes, a fresh one is renamed in its place (a new
// inode, which readers see as a change too).

import { closeSync, fstatSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** GROWN is the size past which the generation file is replaced by an empty one. */
const GROWN = 64 * 1024;

/** StoreGeneration is the change count of a disk store as this worker last saw it (see the file comment). */
export class StoreGeneration {
  private readonly path: string;
  private ino = -1;
  private size = -1;
  private mtimeMs = -1;
  private seen = 0;
  private looked = false;
  /** now is the clock (epoch ms) read with the last look, at most a turn old. */
  private clock = 0;

  constructor(
    dir: string,
    private readonly tmp: string,
  ) {
    this.path = join(dir, 'generation');
  }

  /** current is a number that differs from any the store gave before once some worker changed an entry; the file is looked at once per event-loop turn. */
  current(): number {
    if (!this.looked) this.look();
    return this.seen;
  }

  /** now is the time (epoch ms) of this turn's look. */
  now(): number {
    if (!this.looked) this.look();
    return this.clock;
  }

  private look(): void {
    this.looked = true;
    setImmediate(() => {
      this.looked = false;
    });
    this.clock = Date.now();
    let st;
    try {
      st = statSync(this.path, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    const [ino, size, mtimeMs] = st ? [st.ino, st.size, st.mtimeMs] : [-1, -1, -1];
    if (ino === this.ino && size === this.size && mtimeMs === this.mtimeMs) return;
    [this.ino, this.size, this.mtimeMs] = [ino, size, mtimeMs];
    this.seen++;
  }

  /** bump tells every worker (this one at its next turn) that an entry changed; it throws when the file cannot be written. */
  bump(): void {
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, '.');
      if (fstatSync(fd).size < GROWN) return;
    } finally {
      closeSync(fd);
    }
    const fresh = join(this.tmp, `generation-${process.pid}`);
    writeFileSync(fresh, '');
    renameSync(fresh, this.path);
  }
}
