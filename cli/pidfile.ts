import { readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { GlobalSettings } from '../core/config.js';
import type { ReloadVerdict } from '../core/process/master.js';

// A running server owns two files: its pid file (the pid alone, for kill, systemd and scripts)
// and a state file beside it that says which config it serves, its start time (to tell a pid
// the kernel gave to another process since), and how its last reload ended (`gatekit reload`
// waits for that). Both are replaced atomically (write, then rename), so a reader never sees half.

/** pidFileOf is where the server's pid goes: `pid` from global, else beside the config file, named after it (site.gate -> site.pid). */
export function pidFileOf(file: string, global: GlobalSettings | undefined): string {
  return global?.pid ?? join(dirname(file), `${basename(file).replace(/\.gate$/, '')}.pid`);
}

/** stateFileOf is the state file beside a pid file: site.pid -> site.state. */
export function stateFileOf(pidFile: string): string {
  return pidFile.replace(/(\.pid)?$/, '.state');
}

/** ReloadOutcome is how one reload ended; `at` is when the server read the config for it. */
export interface ReloadOutcome {
  readonly at: number;
  readonly outcome: ReloadVerdict['outcome'];
  /** detail holds the rendered diagnostics (a refusal, or warnings) or the reason it failed. */
  readonly detail: string;
}

/** ServerState is what a running server writes beside its pid file. */
export interface ServerState {
  readonly pid: number;
  /** started is the process's start time in clock ticks since boot (Linux); absent elsewhere. */
  readonly started?: number;
  /** config is the absolute path of the config file it serves. */
  readonly config: string;
  readonly reload?: ReloadOutcome;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** readPid reads a pid file; undefined when missing or malformed. */
export function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** readState reads a state file; undefined when missing or malformed. */
export function readState(path: string): ServerState | undefined {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as ServerState;
    return Number.isInteger(s.pid) && typeof s.config === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** startTime is when a process started, from /proc (clock ticks since boot); undefined where there is no /proc. */
export function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]); // field 22; the name before ')' may hold spaces
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** alive tells whether a process exists (one of another user's counts: it exists, though we may not signal it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** sameFile tells whether two paths name one file (through symlinks, when both exist). */
export function sameFile(a: string, b: string): boolean {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  return a === b || real(a) === real(b);
}

/** Found is the live gatekit a pid file names, or why it names none. */
export type Found = { readonly pid: number; readonly state: ServerState } | { readonly why: string };

/**
 * findServer checks, without signalling anything, that the pid in a pid file is alive and is
 * the gatekit that wrote the state file beside it (same pid and, where /proc tells, same start).
 */
export function findServer(pidFile: string): Found {
  const pid = readPid(pidFile);
  if (pid === undefined) return { why: `no pid in ${pidFile}` };
  if (!alive(pid)) return { why: `pid ${pid} in ${pidFile} is not running (the pid file is stale)` };
  const state = readState(stateFileOf(pidFile));
  if (!state || state.pid !== pid) return { why: `pid ${pid} in ${pidFile} is not a gatekit server: ${stateFileOf(pidFile)} does not name it` };
  const started = startTime(pid);
  if (started !== undefined && state.started !== undefined && started !== state.started) {
    return { why: `pid ${pid} in ${pidFile} is another process now: the gatekit that wrote it has exited` };
  }
  return { pid, state };
}

/**
 * ServerFiles are this process's pid and state files: claimed at start, updated after each
 * reload, removed at exit (only while they are still ours).
 */
export class ServerFiles {
  private constructor(
    readonly pidFile: string,
    private state: ServerState,
  ) {}

  /**
   * claim writes the pid and state files for `config`; it returns why not when a live gatekit
   * holds the pid file (two servers sharing one would take each other's signals), and throws
   * when the files cannot be written.
   */
  static claim(pidFile: string, config: string): ServerFiles | string {
    const holder = findServer(pidFile);
    if ('pid' in holder && holder.pid !== process.pid) {
      return `already running with ${holder.state.config} as pid ${holder.pid} (${pidFile}): stop that one first, or give this one its own 'pid'`;
    }
    const started = startTime(process.pid);
    const files = new ServerFiles(pidFile, { pid: process.pid, ...(started !== undefined ? { started } : {}), config });
    writeAtomic(stateFileOf(pidFile), JSON.stringify(files.state));
    writeAtomic(pidFile, `${process.pid}\n`);
    return files;
  }

  /** report records how a reload ended, for `gatekit reload` to read. */
  report(reload: ReloadOutcome): void {
    this.state = { ...this.state, reload };
    writeAtomic(stateFileOf(this.pidFile), JSON.stringify(this.state));
  }

  /** release removes both files, unless another process has claimed them since. */
  release(): void {
    for (const [path, ours] of [
      [this.pidFile, readPid(this.pidFile)],
      [stateFileOf(this.pidFile), readState(stateFileOf(this.pidFile))?.pid],
    ] as const) {
      try {
        if (ours === process.pid) unlinkSync(path);
      } catch {
        /* already gone */
      }
    }
  }
}
