import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../core/index.js';
import type { Script } from './resolve.js';

const MAX_LINE = 4096;

/**
 * ScriptProcess is one running script: the leader of a process group of its own (setsid),
 * so that kill() reaches whatever it started too. Its stderr goes to the error log, one
 * line per line, naming the script.
 */
export interface ScriptProcess {
  /** stdout is the script's output. */
  readonly stdout: Readable;
  /** stdin takes the request body; null when the request has none (the script reads /dev/null). */
  readonly stdin: Writable | null;
  /** started resolves once the script runs, and rejects with the reason it could not start. */
  readonly started: Promise<void>;
  /** exited resolves once the script's own process has ended (or failed to start). */
  readonly exited: Promise<void>;
  /** running tells whether the script's own process is still there. */
  readonly running: boolean;
  /**
   * kill sends SIGKILL to the script's whole process group (its children and theirs), even
   * when the script itself is gone but something it started still runs.
   */
  kill(): void;
}

/** Launcher starts a script; `input` is false when the request has no body. */
export type Launcher = (script: Script, env: NodeJS.ProcessEnv, input: boolean) => ScriptProcess;

/** killGroup sends SIGKILL to the process group a script leads. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* the group is empty */
  }
}

/** forkLauncher starts scripts with child_process.spawn, which forks the worker itself. */
export function forkLauncher(log: Logger): Launcher {
  return (script, env, input) => new ForkedScript(script, env, log, input);
}

/** ForkedScript is a script started by child_process.spawn. */
class ForkedScript implements ScriptProcess {
  readonly stdout: Readable;
  readonly stdin: Writable | null;
  readonly started: Promise<void>;
  readonly exited: Promise<void>;
  private readonly pid: number | undefined;
  private alive = true;

  constructor(script: Script, env: NodeJS.ProcessEnv, log: Logger, input: boolean) {
    const child = spawn(script.command, script.args, {
      cwd: dirname(script.file),
      env,
      detached: true,
      stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
    this.pid = child.pid;
    this.stdout = child.stdout;
    this.stdin = child.stdin;
    let failed: Error | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        this.alive = false;
        resolve();
      });
      child.once('error', (e) => {
        failed = e;
        this.alive = false;
        resolve();
      });
    });
    this.started =
      this.pid !== undefined
        ? Promise.resolve()
        : this.exited.then(() => {
            throw failed ?? new Error('spawn failed');
          });
    this.stdin?.on('error', () => {}); // EPIPE when the script does not read its input
    this.stdout.on('error', () => {}); // a failed read closes the output: the response is cut off (see sendResponse)
    const lines = new LineSplitter((line) => log.error(line, { script: script.name }));
    child.stderr.on('data', (b: Buffer) => lines.push(b));
    child.stderr.on('end', () => lines.end());
    child.stderr.on('error', () => {});
  }

  get running(): boolean {
    return this.alive;
  }

  kill(): void {
    if (this.pid !== undefined) killGroup(this.pid);
  }
}

/** LineSplitter calls `write` for every line of a byte stream (long lines are cut into pieces). */
export class LineSplitter {
  private rest = '';
  private readonly decoder = new TextDecoder();

  constructor(private readonly write: (line: string) => void) {}

  push(chunk: Uint8Array): void {
    this.rest += this.decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = this.rest.indexOf('\n')) >= 0) {
      const line = this.rest.slice(0, nl).replace(/\r$/, '');
      this.rest = this.rest.slice(nl + 1);
      if (line) this.write(line);
    }
    while (this.rest.length > MAX_LINE) {
      this.write(this.rest.slice(0, MAX_LINE));
      this.rest = this.rest.slice(MAX_LINE);
    }
  }

  end(): void {
    this.rest += this.decoder.decode();
    if (this.rest) this.write(this.rest);
    this.rest = '';
  }
}
