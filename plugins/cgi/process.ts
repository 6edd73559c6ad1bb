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
export class ScriptProcess {
  readonly child: ChildProcessByStdio<Writable | null, Readable, Readable>;
  /** exited resolves once the script's own process has ended (or failed to start). */
  readonly exited: Promise<void>;
  /** failed holds the spawn error, when the script could not start. */
  failed: Error | undefined;
  private alive = true;

  /** input is false when the request has no body: stdin is then /dev/null, one pipe fewer. */
  constructor(script: Script, env: NodeJS.ProcessEnv, log: Logger, input: boolean) {
    this.child = spawn(script.command, script.args, { cwd: dirname(script.file), env, detached: true, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] }) as
      ChildProcessByStdio<Writable | null, Readable, Readable>;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => { this.alive = false; resolve(); });
      this.child.once('error', (e) => { this.failed = e; this.alive = false; resolve(); });
    });
    this.child.stdin?.on('error', () => {}); // EPIPE when the script does not read its input
    logLines(this.child.stderr, (line) => log.error(line, { script: script.name }));
  }

  /** running tells whether the script's own process is still there. */
  get running(): boolean { return this.alive; }

  /**
   * kill sends SIGKILL to the script's whole process group (its children and theirs), even
   * when the script itself is gone but something it started still runs.
   */
  kill(): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try { process.kill(-pid, 'SIGKILL'); } catch { /* the group is empty */ }
  }
}

/** logLines calls `write` for every line of a stream (long lines are cut into pieces). */
function logLines(stream: Readable, write: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (s: string) => {
    rest += s;
    let nl;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).replace(/\r$/, '');
      rest = rest.slice(nl + 1);
      if (line) write(line);
    }
    while (rest.length > MAX_LINE) { write(rest.slice(0, MAX_LINE)); rest = rest.slice(MAX_LINE); }
  });
  stream.on('end', () => { if (rest) write(rest); });
  stream.on('error', () => {});
}
