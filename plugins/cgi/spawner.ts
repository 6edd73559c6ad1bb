import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../core/index.js';
import { FrameReader, sourceFile, textFrame } from '../../lib/index.js';
import { killGroup, LineSplitter, type Launcher, type ScriptProcess } from './process.js';
import type { Script } from './resolve.js';

/** HELPER_PY is the stdlib-only Python side: see its docstring for the protocol. */
export const HELPER_PY = sourceFile(import.meta.url, join('python', 'gatekit_spawner.py'), join('plugins', 'cgi', 'python', 'gatekit_spawner.py'));
// python's start on a loaded machine (or through a pyenv shim) can take seconds; Gunicorn allows a worker 30
const READY_TIMEOUT = 30_000;
const STOP_TIMEOUT = 2000;
const ASK = 0x41; // 'A'
const INPUT = 0x49; // 'I'
const NO_STREAM = 0; // FrameReader's streamed kind: the helper sends none
/** SPARE is how many connections wait ready for the next scripts: each saves a connect and an accept on the way to a spawn. */
const SPARE = 4;

/**
 * SpawnHelper is one running gatekit_spawner.py, serving one worker: it starts scripts
 * with posix_spawn, which costs the same however big the worker is, and never blocks the
 * worker's event loop the way fork(2) from Node does. Each script's stdout is a unix
 * socket gatekit reads directly; nothing is copied through the helper but stderr.
 */
export class SpawnHelper {
  private nextId = 1;
  /** asked are the scripts asked for and not yet answered (started or failed), given-up ones included, oldest first. */
  private readonly asked = new Map<number, HelperScript>();
  private readonly byPid = new Map<number, HelperScript>();
  private readonly records = new FrameReader(
    {
      data: () => {},
      control: (kind, p) => this.record(String.fromCharCode(kind), p.readUInt32BE(0), p.readInt32BE(4), p.subarray(8)),
    },
    NO_STREAM,
  );
  private readonly spare: Socket[] = [];
  private watch: NodeJS.Timeout | undefined;
  private stopping = false;
  /** gone resolves when the helper process has exited. */
  readonly gone: Promise<void>;
  private ready!: () => void;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    private readonly dir: string,
    private readonly log: Logger,
    /** stuckAfter is how long an ask may go unanswered before the helper counts as stuck (ms). */
    private readonly stuckAfter: number,
  ) {
    this.gone = new Promise((resolve) => {
      const ended = (why: Record<string, string | number | undefined>): void => {
        if (!this.stopping) log.error('CGI spawn helper exited', why);
        this.stopping = true;
        clearInterval(this.watch);
        this.failAll(new Error('the CGI spawn helper exited'));
        rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      // 'close', not 'exit': every record it wrote has been read by then
      child.once('close', (code, signal) => ended({ code: code ?? undefined, signal: signal ?? undefined }));
      child.on('error', (e) => ended({ error: e.message })); // a failed spawn, or a kill() that fails later
    });
    child.stdout.on('data', (b: Buffer) => {
      try {
        this.records.push(b);
      } catch (e) {
        log.error(`CGI spawn helper sent a bad record: ${(e as Error).message}`);
        child.kill('SIGKILL');
      }
    });
    const lines = new LineSplitter((line) => log.error(line, { spawner: 'gatekit_spawner.py' }));
    child.stderr.on('data', (b: Buffer) => lines.push(b));
    // a pipe that fails closes, and 'close' above says the helper is gone
    for (const pipe of [child.stdin, child.stdout, child.stderr]) pipe.on('error', () => {});
  }

  /**
   * start runs the helper with `python` and resolves once it listens; it rejects when it
   * cannot. A helper that leaves an ask unanswered for `stuckAfter` ms is killed (see check).
   */
  static async start(python: string, log: Logger, stuckAfter: number): Promise<SpawnHelper> {
    const dir = mkdtempSync(join(tmpdir(), 'gatekit-cgi-')); // mode 0700: only our user may connect
    const child = spawn(python, ['-I', '-S', HELPER_PY, join(dir, 'spawn.sock'), String(process.pid)], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const helper = new SpawnHelper(child, dir, log, stuckAfter);
    let timer: NodeJS.Timeout | undefined;
    const started = new Promise<void>((resolve, reject) => {
      helper.ready = resolve;
      void helper.gone.then(() => reject(new Error(`${python} ${HELPER_PY} exited before it was ready`)));
      timer = setTimeout(() => reject(new Error(`${python} ${HELPER_PY} was not ready within ${READY_TIMEOUT} ms`)), READY_TIMEOUT);
    });
    try {
      await started;
      return helper;
    } catch (e) {
      await helper.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** alive tells whether the helper still runs and takes work. */
  get alive(): boolean {
    return !this.stopping;
  }

  /** pid is the helper process's pid (admin). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** launch asks the helper for a script: see ScriptProcess. */
  launch(script: Script, env: NodeJS.ProcessEnv, input: boolean): ScriptProcess {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1; // ids travel as 32 bits
    const ask = { id, argv: [script.command, ...script.args], env, cwd: dirname(script.file), stdin: input };
    const proc = new HelperScript(this.send(ASK, ask), input ? this.send(INPUT, { id }) : null, script.name, this.log);
    this.asked.set(id, proc);
    this.watch ??= setInterval(() => this.check(), Math.max(50, Math.min(1000, this.stuckAfter / 4))).unref();
    return proc;
  }

  /**
   * check kills a helper that left its oldest ask unanswered for `stuckAfter`: it is alive but
   * stuck (stopped, or blocked), and every script asked of it would wait for its request's
   * timeout. Its end fails the asks still waiting, and scripts start by fork until another
   * helper runs; scripts it started run on.
   */
  private check(): void {
    const oldest = this.asked.values().next().value;
    if (oldest === undefined) {
      clearInterval(this.watch);
      this.watch = undefined;
      return;
    }
    const waited = performance.now() - oldest.askedAt;
    if (waited < this.stuckAfter || this.stopping) return;
    this.log.error(`CGI spawn helper left a script unstarted for ${Math.round(waited)} ms: replacing it`, { pid: this.child.pid });
    this.stopping = true; // no more asks: scripts start by fork from now on, not once it is reaped
    this.child.kill('SIGKILL');
  }

  /** close stops the helper: running scripts keep running (kill them first), unstarted ones fail. */
  async close(): Promise<void> {
    this.stopping = true;
    for (const socket of this.spare.splice(0)) socket.destroy();
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT);
    await this.gone;
    clearTimeout(timer);
  }

  /** send writes a frame (JSON) on a spare connection, and opens another spare. */
  private send(kind: number, message: object): Socket {
    const socket = this.spare.shift() ?? this.connect();
    socket.write(textFrame(kind, JSON.stringify(message)));
    this.topUp();
    return socket;
  }

  private topUp(): void {
    while (this.alive && this.spare.length < SPARE) this.spare.push(this.connect());
  }

  /** connect opens a connection to the helper; until it is used, a failure only drops it from the spares. */
  private connect(): Socket {
    const socket = connect(join(this.dir, 'spawn.sock'));
    const drop = (): void => {
      const i = this.spare.indexOf(socket);
      if (i >= 0) this.spare.splice(i, 1);
    };
    socket.once('error', drop);
    socket.once('close', drop);
    return socket;
  }

  /** record acts on one of the helper's records: see gatekit_spawner.py. */
  private record(kind: string, a: number, b: number, payload: Buffer): void {
    switch (kind) {
      case 'R':
        this.ready();
        this.topUp();
        break;
      case 'S': {
        const proc = this.asked.get(a);
        this.asked.delete(a);
        if (!proc?.running) {
          killGroup(b);
          break;
        } // its request gave up meanwhile
        this.byPid.set(b, proc);
        proc.onStarted(b);
        break;
      }
      case 'F': {
        const proc = this.asked.get(a);
        this.asked.delete(a);
        proc?.onFailed(Object.assign(new Error(`${payload.toString()}`), { errno: b }));
        break;
      }
      case 'X':
        this.settled(a, this.byPid.get(a)?.onExit());
        break;
      case 'E':
        this.settled(a, this.byPid.get(a)?.onStderr(payload));
        break;
    }
  }

  /** settled forgets a script once it has exited and its stderr is closed. */
  private settled(pid: number, done: boolean | undefined): void {
    if (done) this.byPid.delete(pid);
  }

  private failAll(e: Error): void {
    for (const proc of this.asked.values()) proc.onFailed(e);
    for (const proc of this.byPid.values()) proc.orphaned();
    this.asked.clear();
    this.byPid.clear();
  }
}

/** HelperScript is a script the helper started (or was asked to start). */
class HelperScript implements ScriptProcess {
  readonly started: Promise<void>;
  readonly exited: Promise<void>;
  /** askedAt is when the helper was asked for it (performance.now()). */
  readonly askedAt = performance.now();
  private pid: number | undefined;
  private alive = true;
  private stderrOpen = true;
  private resolveStart!: () => void;
  private rejectStart!: (e: Error) => void;
  private resolveExit!: () => void;
  private readonly lines: LineSplitter;

  constructor(
    readonly stdout: Socket,
    readonly stdin: Socket | null,
    name: string,
    log: Logger,
  ) {
    this.started = new Promise((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    this.started.catch(() => {});
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
    this.lines = new LineSplitter((line) => log.error(line, { script: name }));
    // a connection that fails before the script runs fails the start; later errors end the output
    const early = (e: Error): void => {
      if (this.pid === undefined && this.alive) this.onFailed(e);
    };
    stdout.on('error', early);
    stdin?.on('error', early);
  }

  get running(): boolean {
    return this.alive;
  }

  /** kill before the helper said the script runs gives the start up: it is killed once the helper reports it started. */
  kill(): void {
    if (this.pid !== undefined) killGroup(this.pid);
    else if (this.alive) this.onFailed(new Error('stopped before it started'));
  }

  onStarted(pid: number): void {
    this.pid = pid;
    this.resolveStart();
  }

  onFailed(e: Error): void {
    this.alive = false;
    this.stderrOpen = false;
    this.rejectStart(e);
    this.resolveExit();
    this.stdout.destroy();
    this.stdin?.destroy();
  }

  /**
   * orphaned: the helper is gone, so nobody will report this script's exit. It runs on,
   * writing to gatekit directly; the end of its stdout counts as its exit from now on.
   */
  orphaned(): void {
    this.onStderr(Buffer.alloc(0));
    if (this.stdout.readableEnded || this.stdout.destroyed) this.onExit();
    else this.stdout.once('close', () => this.onExit());
  }

  /** onExit returns whether the helper is done with this script. */
  onExit(): boolean {
    this.alive = false;
    this.resolveExit();
    return !this.stderrOpen;
  }

  onStderr(chunk: Buffer): boolean {
    if (chunk.length) {
      this.lines.push(chunk);
      return false;
    }
    this.lines.end();
    this.stderrOpen = false;
    return !this.alive;
  }
}

/**
 * HelperLauncher starts scripts through a SpawnHelper, and through `fallback` while the
 * helper is down; a helper that exits is started again (at most once a second).
 */
export class HelperLauncher {
  private restarting = false;
  private lastStart = Date.now();
  private closed = false;

  private constructor(
    private helper: SpawnHelper,
    private readonly python: string,
    private readonly log: Logger,
    private readonly fallback: Launcher,
    private readonly stuckAfter: number,
  ) {}

  /** pid is the running helper's pid (admin). */
  get pid(): number {
    return this.helper.pid;
  }

  /** start starts the first helper; see SpawnHelper.start for `stuckAfter`. */
  static async start(python: string, log: Logger, fallback: Launcher, stuckAfter: number): Promise<HelperLauncher> {
    return new HelperLauncher(await SpawnHelper.start(python, log, stuckAfter), python, log, fallback, stuckAfter);
  }

  readonly launch: Launcher = (script, env, input) => {
    if (this.helper.alive) return this.helper.launch(script, env, input);
    this.restart();
    return this.fallback(script, env, input);
  };

  async close(): Promise<void> {
    this.closed = true;
    await this.helper.close();
  }

  private restart(): void {
    if (this.restarting || this.closed || Date.now() - this.lastStart < 1000) return;
    this.restarting = true;
    this.lastStart = Date.now();
    SpawnHelper.start(this.python, this.log, this.stuckAfter)
      .then(
        (h) => {
          if (this.closed) void h.close();
          else this.helper = h;
        },
        (e: Error) => this.log.error(`could not restart the CGI spawn helper: ${e.message}`),
      )
      .finally(() => {
        this.restarting = false;
      });
  }
}
