import { readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { makePrivateDir } from './acme-store.js';

/** LockHolder says who holds a lock: a process on a host, since when (epoch ms). */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: number;
}

/** STALE is how long a lock lives unrefreshed: its holder refreshes it far more often, so an older one was left by a crash. */
const STALE = 120_000;
const REFRESH = 20_000;

/**
 * NameLock is one certificate's lock in a shared storage folder: a file made with O_EXCL, so
 * that of several gatekit processes (one host or several, on one folder) only one orders the
 * certificate. Its holder touches it while it works; a lock left by a dead process (on this
 * host) or untouched for two minutes (anywhere) is taken over.
 */
export class NameLock {
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly file: string) {
    this.timer = setInterval(() => {
      try {
        const now = new Date();
        utimesSync(file, now, now);
      } catch {
        /* released meanwhile */
      }
    }, REFRESH);
    this.timer.unref();
  }

  /** take takes the lock, or tells who holds it. */
  static take(file: string): NameLock | LockHolder {
    makePrivateDir(dirname(file));
    for (let tries = 0; ; tries++) {
      try {
        writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), since: Date.now() }), { flag: 'wx', mode: 0o600 });
        return new NameLock(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = readHolder(file);
      if (holder && (tries > 0 || !abandoned(file, holder))) return holder;
      rmSync(file, { force: true }); // abandoned (or unreadable, half-written by a crash): take it over once
    }
  }

  /** release gives the lock back. */
  release(): void {
    clearInterval(this.timer);
    rmSync(this.file, { force: true });
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** abandoned tells whether a lock's holder is gone: a dead process on this host, or no refresh for STALE. */
function abandoned(file: string, holder: LockHolder): boolean {
  let touched: number;
  try {
    touched = statSync(file).mtimeMs;
  } catch {
    return true;
  }
  if (Date.now() - touched > STALE) return true;
  if (holder.host !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
