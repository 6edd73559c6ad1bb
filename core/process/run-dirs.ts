import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * RunDirs keeps the run folders of a master's generations (ProcessInfo.runDir): each made
 * when its generation's master parts start, under the temp folder with a name no one can
 * guess and mode 0700 (only this user may enter, so only its processes reach the sockets in
 * it), and removed with the generation. Those left when the master exits are removed then.
 */
export class RunDirs {
  private readonly dirs = new Map<number, string>();
  private readonly atExit = (): void => this.removeAll();

  constructor() {
    process.once('exit', this.atExit);
  }

  /** open makes the folder of `generation` and returns its path. */
  open(generation: number): string {
    const dir = mkdtempSync(join(tmpdir(), 'gatekit-run-'));
    this.dirs.set(generation, dir);
    return dir;
  }

  /** of is the folder of `generation`, once opened. */
  of(generation: number): string | undefined {
    return this.dirs.get(generation);
  }

  /** remove deletes the folder of `generation` and all it holds. */
  remove(generation: number): void {
    const dir = this.dirs.get(generation);
    if (dir === undefined) return;
    this.dirs.delete(generation);
    rmSync(dir, { recursive: true, force: true });
  }

  /** removeAll deletes every folder still there; the master calls it as it exits. */
  removeAll(): void {
    for (const g of [...this.dirs.keys()]) this.remove(g);
    process.off('exit', this.atExit);
  }
}
