import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GATEKIT } from './paths.js';

/** runDirsIn lists the generation run folders (ProcessInfo.runDir) a gatekit run with TMPDIR=`tmp` has made there. */
export function runDirsIn(tmp: string): string[] {
  return readdirSync(tmp)
    .filter((n) => n.startsWith('gatekit-run-'))
    .map((n) => join(tmp, n));
}

/** CliResult is how a finished gatekit command ended. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** runCli runs `gatekit ARGS` to completion (killed after `ms`). */
export function runCli(args: readonly string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; ms?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [GATEKIT, ...args], { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.ms ?? 15_000); // a cap: a loaded machine starts node slowly
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Served is a `gatekit run` child process and what it has printed so far. */
export interface Served {
  readonly child: ChildProcess;
  output(): string;
  /** waitFor resolves with the first match of `re` in stderr+stdout, or rejects after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  /** exited resolves with the exit code once the process ends. */
  exited(): Promise<number | null>;
  /** stop kills the process (TERM, then KILL after 2s) and waits for it. */
  stop(): Promise<void>;
}

/** serve starts `gatekit ARGS` in the background; `openFiles` sets its `ulimit -n`. */
export function serve(args: readonly string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; openFiles?: number } = {}): Served {
  const [command, argv] =
    o.openFiles === undefined
      ? [process.execPath, [GATEKIT, ...args]]
      : ['sh', ['-c', `ulimit -n ${o.openFiles} && exec "$0" "$@"`, process.execPath, GATEKIT, ...args]];
  const child = spawn(command, argv, { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (c: Buffer): void => {
    out += c.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      for (const w of waiters) w();
      resolve(code);
    }),
  );
  return {
    child,
    output: () => out,
    waitFor(re, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out);
          if (m) {
            done();
            resolve(m);
          } else if (child.exitCode !== null) {
            done();
            reject(new Error(`exited ${child.exitCode} before ${re}:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${re}:\n${out}`));
        }, ms);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    exited: () => exit,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exit;
      clearTimeout(t);
    },
  };
}
