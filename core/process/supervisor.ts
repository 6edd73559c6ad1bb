import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../logger.js';

/** ProcessSpec describes a helper process a plugin wants kept alive (a Python app pool, say). */
export interface ProcessSpec {
  /** name appears in log lines. */
  readonly name: string;
  readonly command: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  /** env is the whole environment of the process (nothing is inherited unless listed). */
  readonly env?: Readonly<Record<string, string>>;
  /** restart: 'always' (default) restarts after any exit, 'on-failure' only after a non-zero one. */
  readonly restart?: 'always' | 'on-failure';
  /**
   * explainedExits are exit codes after which the process has logged why itself (an
   * application that cannot load): the supervisor restarts it all the same, with backoff,
   * and logs the exit at debug level only, so that each retry is one line.
   */
  readonly explainedExits?: readonly number[];
}

/** Supervised is a running, supervised process. */
export interface Supervised {
  /** pid of the current incarnation (undefined while restarting). */
  readonly pid: number | undefined;
  /** restarts counts the restarts so far. */
  readonly restarts: number;
  /** stop sends TERM, then KILL after `timeout` ms, and stops restarting; resolves when it has exited. */
  stop(timeout: number): Promise<void>;
}

const MAX_BACKOFF = 30_000;
const STABLE_AFTER = 10_000; // an incarnation that lived this long resets the backoff

/**
 * supervise starts a process and keeps it running: each exit is logged with its code or
 * signal, its stdout and stderr go to the log line by line, and it is restarted with
 * exponential backoff while it keeps dying young. Its stdin is a pipe nothing is written
 * to: it reads end-of-file once this process is gone, however it ended (kill -9 included),
 * and the process should then exit (gatekit_pool.py does), so that nothing outlives gatekit.
 */
export function supervise(spec: ProcessSpec, log: Logger): Supervised {
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let fails = 0;
  let timer: NodeJS.Timeout | undefined;
  let exited: Promise<void> = Promise.resolve();
  const plog = log.child({ process: spec.name });

  const start = (): void => {
    const began = Date.now();
    const c = spawn(spec.command, [...(spec.args ?? [])], { cwd: spec.cwd, env: spec.env ?? {}, stdio: ['pipe', 'pipe', 'pipe'] });
    child = c;
    for (const [stream, level] of [
      [c.stdout!, 'info'],
      [c.stderr!, 'warn'],
    ] as const) {
      // readline re-emits its input's errors: a pipe that fails ends the lines, not the process
      createInterface({ input: stream })
        .on('line', (line) => plog[level](line, { pid: c.pid }))
        .on('error', () => {});
    }
    exited = new Promise((resolve) => {
      c.on('error', (e) => plog.error(`cannot start ${spec.command}: ${e.message}`));
      c.on('close', (code, signal) => {
        child = undefined;
        resolve();
        if (stopping) return;
        const failed = signal !== null || code !== 0;
        const level = !failed ? 'info' : code !== null && spec.explainedExits?.includes(code) ? 'debug' : 'error';
        plog[level](`exited with ${signal ? `signal ${signal}` : `code ${code}`}`, { pid: c.pid });
        if (!failed && spec.restart === 'on-failure') return;
        // Only failures of young processes back off; a clean exit (a worker recycling itself) restarts at once.
        fails = !failed || Date.now() - began > STABLE_AFTER ? 0 : fails + 1;
        const delay = fails <= 1 ? 0 : Math.min(MAX_BACKOFF, 100 * 2 ** (fails - 2));
        restarts++;
        timer = setTimeout(start, delay);
      });
    });
  };
  start();

  return {
    get pid() {
      return child?.pid;
    },
    get restarts() {
      return restarts;
    },
    async stop(timeout: number) {
      stopping = true;
      clearTimeout(timer);
      const c = child;
      if (!c) return;
      c.kill('SIGTERM');
      const kill = setTimeout(() => c.kill('SIGKILL'), timeout);
      await exited;
      clearTimeout(kill);
    },
  };
}
