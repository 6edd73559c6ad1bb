import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { DependencyContainer } from 'tsyringe';
import type { GlobalSettings } from '../config.js';
import { removeStaleSocket } from '../listeners.js';
import { loadConfig, logDiagnostics, type Loaded } from '../load.js';
import type { Logger } from '../logger.js';
import { startMasterParts, type MasterParts } from './master-parts.js';
import type { ToMaster, ToWorker } from './protocol.js';
import { ROLE_ENV } from './protocol.js';

/** WorkerState is what the master knows of one worker process. */
export interface WorkerState {
  readonly slot: number;
  readonly generation: number;
  readonly pid: number;
  state: 'booting' | 'ready' | 'draining';
  readonly started: number;
  lastBeat: number;
  requests: number;
  /** replaces is the worker this one takes over from once ready (recycling). */
  replaces?: WorkerState;
  replacement?: WorkerState;
  bootError?: string;
  readonly worker: Worker;
}

/** Generation is one loaded config and the workers that serve it. */
interface Generation {
  readonly id: number;
  readonly loaded: Loaded;
  /** readAt is when its config was read. */
  readonly readAt: number;
  readonly files: [string, string][];
  size: number;
  /** parts are the plugins' master parts of this generation (process pools...). */
  parts?: MasterParts;
}

/** MasterSnapshot is the master's state, for status pages and metrics. */
export interface MasterSnapshot {
  readonly pid: number;
  readonly generation: number;
  readonly reloads: number;
  readonly restarts: number;
  readonly workers: readonly { slot: number; pid: number; generation: number; state: string; uptimeMs: number; requests: number }[];
}

/** ReloadVerdict is how a reload ended, for whoever runs the master (`gatekit reload` waits for it). */
export interface ReloadVerdict {
  /** at is when the config was read: a reload asked for before then is answered by this one. */
  readonly at: number;
  readonly outcome: 'reloaded' | 'refused' | 'failed';
  /** loaded is the config read: its diagnostics say why it was refused, or warn. */
  readonly loaded: Loaded;
  /** reason says why a config that checked could not be served. */
  readonly reason?: string;
}

const MAX_DRAINING_GENERATIONS = 2;
const BOOT_TIMEOUT = 30_000;
const KILL_GRACE = 2_000;
const MAX_BACKOFF = 30_000;

function workerCount(g: GlobalSettings): number {
  return g.workers === 'auto' ? availableParallelism() : Math.max(1, g.workers);
}

/**
 * Master forks the workers of the current config generation and keeps them alive: it
 * replaces a worker that dies (with backoff while they keep dying at start), recycles
 * one after max_requests, kills one that stops beating, and reloads by starting a new
 * generation and retiring the old one only once every new worker is ready. It never
 * serves requests itself.
 */
export class Master {
  private current!: Generation;
  private pending: Generation | undefined;
  private readonly states = new Map<Worker, WorkerState>();
  private readonly failures = new Map<number, number>(); // slot → consecutive start failures
  private readonly retired = new Map<number, Generation>(); // old generations whose workers still drain
  private nextGeneration = 1;
  private reloads = 0;
  private restarts = 0;
  private stopping = false;
  private reloadQueued = false;
  private reloading = false;
  private starting = false;
  private checker: NodeJS.Timeout | undefined;
  private booted: ((error?: string) => void) | undefined;
  private stopped: (() => void) | undefined;

  constructor(
    private readonly file: string, private readonly root: DependencyContainer, private readonly log: Logger,
    private readonly onReload: (v: ReloadVerdict) => void = () => {},
  ) {}

  /** start boots the first generation; it resolves with an error message when it cannot. */
  async start(loaded: Loaded): Promise<string | undefined> {
    this.starting = true;
    cluster.schedulingPolicy = process.env.GATEKIT_SCHEDULING === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
    cluster.setupPrimary({ args: process.argv.slice(2), silent: false });
    cluster.on('message', (w: Worker, m: ToMaster) => this.onMessage(w, m));
    cluster.on('exit', (w: Worker, code: number | null, signal: string | null) => this.onExit(w, code, signal));
    for (const s of loaded.config!.servers) for (const l of s.listens) if (l.address.kind === 'unix') removeStaleSocket(l.address.path);
    this.current = this.generation(loaded);
    try { this.current.parts = await startMasterParts(loaded, this.current.id, 'master', this.log); } catch (e) { this.starting = false; return (e as Error).message; }
    const failed = new Promise<string | undefined>((resolve) => { this.booted = resolve; });
    for (let slot = 1; slot <= this.current.size; slot++) this.fork(this.current, slot);
    this.checker = setInterval(() => this.check(), 250);
    const error = await failed;
    this.starting = false;
    if (error) await this.stop(0);
    else this.afterReload(); // a HUP that came while starting
    return error;
  }

  private generation(loaded: Loaded, readAt = Date.now()): Generation {
    const files = loaded.sources.files().map((f) => [f, loaded.sources.get(f)!] as [string, string]);
    return { id: this.nextGeneration++, loaded, readAt, files, size: workerCount(loaded.config!.global) };
  }

  private get settings(): GlobalSettings {
    return this.current.loaded.config!.global;
  }

  /** currentSettings are the global settings of the generation now serving. */
  currentSettings(): GlobalSettings {
    return this.settings;
  }

  private fork(gen: Generation, slot: number, replaces?: WorkerState): WorkerState {
    const worker = cluster.fork({ [ROLE_ENV]: 'worker' });
    const now = Date.now();
    const st: WorkerState = { slot, generation: gen.id, pid: worker.process.pid ?? 0, state: 'booting', started: now, lastBeat: now, requests: 0, worker };
    if (replaces) { st.replaces = replaces; replaces.replacement = st; }
    this.states.set(worker, st);
    return st;
  }

  private genOf(st: WorkerState): Generation | undefined {
    return st.generation === this.current.id ? this.current : st.generation === this.pending?.id ? this.pending : undefined;
  }

  private onMessage(w: Worker, m: ToMaster): void {
    const st = this.states.get(w);
    if (!st) return;
    switch (m.t) {
      case 'hello': {
        const gen = this.genOf(st);
        if (!gen) { this.drain(st, 0); return; }
        const msg: ToWorker = { t: 'config', file: this.file, files: gen.files, generation: gen.id, workerId: st.slot };
        w.send(msg);
        return;
      }
      case 'ready': return this.onReady(st);
      case 'boot-failed': st.bootError = m.error; return;
      case 'beat': st.lastBeat = Date.now(); st.requests = m.requests; return;
      case 'recycle':
        st.requests = m.requests;
        if (st.state === 'ready' && !st.replacement && !this.stopping && st.generation === this.current.id) {
          this.log.info('worker reached max_requests; replacing it', { worker: st.slot, pid: st.pid, requests: m.requests });
          this.fork(this.current, st.slot, st);
        }
    }
  }

  private onReady(st: WorkerState): void {
    st.state = 'ready';
    st.lastBeat = Date.now();
    this.failures.delete(st.slot);
    this.log.info('worker ready', { worker: st.slot, pid: st.pid, generation: st.generation });
    if (st.replaces) { this.drain(st.replaces, this.settings.gracefulTimeout); st.replaces = undefined; }
    const all = (g: Generation): boolean => [...this.states.values()].filter((s) => s.generation === g.id && s.state === 'ready').length >= g.size;
    if (this.booted && all(this.current)) { const done = this.booted; this.booted = undefined; done(); }
    if (this.pending && all(this.pending)) this.promote();
  }

  private promote(): void {
    const old = this.current;
    this.current = this.pending!;
    this.pending = undefined;
    this.reloads++;
    this.retired.set(old.id, old);
    for (const st of this.states.values()) if (st.generation !== this.current.id && st.state !== 'draining') this.drain(st, old.loaded.config!.global.gracefulTimeout);
    const draining = [...new Set([...this.states.values()].filter((s) => s.state === 'draining').map((s) => s.generation))].sort((a, b) => a - b);
    for (const g of draining.slice(0, Math.max(0, draining.length - MAX_DRAINING_GENERATIONS))) {
      for (const st of this.states.values()) if (st.generation === g) st.worker.process.kill('SIGKILL'); // too many generations draining
    }
    this.log.info('reloaded: new workers ready, old ones draining', { generation: this.current.id, workers: this.current.size });
    this.onReload({ at: this.current.readAt, outcome: 'reloaded', loaded: this.current.loaded });
    this.afterReload();
  }

  private drain(st: WorkerState, timeout: number): void {
    if (st.state === 'draining') return;
    st.state = 'draining';
    const msg: ToWorker = { t: 'drain', timeout };
    try { st.worker.send(msg); } catch { st.worker.process.kill('SIGKILL'); }
    setTimeout(() => { if (!st.worker.isDead()) st.worker.process.kill('SIGKILL'); }, timeout + KILL_GRACE).unref();
  }

  private onExit(w: Worker, code: number | null, signal: string | null): void {
    const st = this.states.get(w);
    if (!st) return;
    this.states.delete(w);
    if (st.replaces?.replacement === st) st.replaces.replacement = undefined;
    if (st.replacement) st.replacement.replaces = undefined;
    this.retireIfDone(st.generation);
    if (st.state === 'draining') {
      this.log.info('worker exited', { worker: st.slot, pid: st.pid, generation: st.generation });
      if (this.stopping && this.states.size === 0) this.stopped?.();
      return;
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    this.log.error(`worker ${st.slot} (pid ${st.pid}) exited with ${how}${st.bootError ? `: ${st.bootError}` : ''}`, { generation: st.generation, state: st.state });
    if (this.stopping) { if (this.states.size === 0) this.stopped?.(); return; }
    if (this.booted && st.generation === this.current.id && st.state === 'booting') {
      const done = this.booted;
      this.booted = undefined;
      done(st.bootError ?? `a worker exited with ${how} before it was ready`);
      return;
    }
    if (this.pending && st.generation === this.pending.id) { this.rollback(st.bootError ?? `a new worker exited with ${how}`); return; }
    if (st.generation !== this.current.id) return;
    if (st.replaces) return; // a failed replacement: the worker it was to replace keeps serving
    this.respawn(st);
  }

  /** retireIfDone stops a retired generation's master parts once its last worker has gone. */
  private retireIfDone(generation: number): void {
    const gen = this.retired.get(generation);
    if (!gen || [...this.states.values()].some((s) => s.generation === generation)) return;
    this.retired.delete(generation);
    void gen.parts?.stop(gen.loaded.config!.global.gracefulTimeout);
  }

  private respawn(st: WorkerState): void {
    const fails = st.state === 'booting' ? (this.failures.get(st.slot) ?? 0) + 1 : 0;
    this.failures.set(st.slot, fails);
    const delay = fails === 0 ? 0 : Math.min(MAX_BACKOFF, 100 * 2 ** (fails - 1));
    this.restarts++;
    if (delay) this.log.warn(`worker ${st.slot} keeps failing at start; next try in ${delay}ms`, { failures: fails });
    setTimeout(() => { if (!this.stopping && this.slotFree(st.slot)) this.fork(this.current, st.slot); }, delay).unref();
  }

  private slotFree(slot: number): boolean {
    return slot <= this.current.size && ![...this.states.values()].some((s) => s.generation === this.current.id && s.slot === slot && s.state !== 'draining');
  }

  private rollback(why: string): void {
    const gen = this.pending!;
    this.pending = undefined;
    for (const st of this.states.values()) if (st.generation === gen.id) { st.state = 'draining'; st.worker.process.kill('SIGKILL'); }
    void gen.parts?.stop(0);
    this.log.error('reload failed: new workers did not become ready; still serving the old config', { reason: why, generation: this.current.id });
    this.onReload({ at: gen.readAt, outcome: 'failed', loaded: gen.loaded, reason: `new workers did not become ready: ${why}` });
    this.afterReload();
  }

  private afterReload(): void {
    if (this.reloadQueued) { this.reloadQueued = false; void this.reload(); }
  }

  private check(): void {
    const now = Date.now();
    for (const st of this.states.values()) {
      const timeout = this.genOf(st)?.loaded.config!.global.workerTimeout ?? this.settings.workerTimeout;
      if (st.state === 'ready' && timeout > 0 && now - st.lastBeat > timeout + KILL_GRACE) {
        this.log.error(`worker ${st.slot} (pid ${st.pid}) missed its heartbeats for ${now - st.lastBeat}ms; killing it`, { generation: st.generation });
        st.worker.process.kill('SIGKILL');
      } else if (st.state === 'booting' && now - st.started > BOOT_TIMEOUT) {
        st.bootError = `not ready after ${BOOT_TIMEOUT}ms`;
        st.worker.process.kill('SIGKILL');
      }
    }
  }

  /**
   * reload checks the config file again and, when it checks, replaces every worker with no
   * request lost. A reload asked for while one runs is queued: it reads the file once that ends.
   */
  async reload(): Promise<void> {
    if (this.stopping) return;
    if (this.starting || this.reloading || this.pending) { this.reloadQueued = true; return; }
    this.reloading = true;
    try { await this.startReload(); } finally { this.reloading = false; }
    if (!this.pending) this.afterReload(); // refused or failed at once
  }

  private async startReload(): Promise<void> {
    const at = Date.now();
    const loaded = await loadConfig(this.file, { root: this.root });
    if (!loaded.config) {
      this.log.error('reload refused: the new config has errors; still serving the old one', { config: this.file });
      logDiagnostics(this.log, loaded.diagnostics);
      this.onReload({ at, outcome: 'refused', loaded });
      return;
    }
    logDiagnostics(this.log, loaded.diagnostics);
    const gen = this.generation(loaded, at);
    try { gen.parts = await startMasterParts(loaded, gen.id, 'master', this.log, this.current.parts); } catch (e) {
      this.log.error('reload failed; still serving the old config', { reason: (e as Error).message, generation: this.current.id });
      this.onReload({ at, outcome: 'failed', loaded, reason: (e as Error).message });
      return;
    }
    if (this.stopping) { void gen.parts.stop(0); return; }
    this.pending = gen;
    this.log.info('reloading', { generation: this.pending.id, workers: this.pending.size });
    for (let slot = 1; slot <= this.pending.size; slot++) this.fork(this.pending, slot);
  }

  /** resize adds (TTIN) or removes (TTOU) one worker of the current generation. */
  resize(delta: 1 | -1): void {
    if (this.stopping) return;
    if (delta > 0) { this.current.size++; this.fork(this.current, this.current.size); return; }
    if (this.current.size <= 1) return;
    const slot = this.current.size--;
    for (const st of this.states.values()) if (st.generation === this.current.id && st.slot === slot) this.drain(st, this.settings.gracefulTimeout);
  }

  /** reopenLogs tells every worker to reopen its log files (USR1). */
  reopenLogs(): void {
    const msg: ToWorker = { t: 'reopen' };
    for (const st of this.states.values()) if (st.state !== 'draining') st.worker.send(msg);
  }

  /** stop drains every worker within `timeout` (0: at once) and resolves when all have exited. */
  async stop(timeout: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.checker);
    const done = new Promise<void>((resolve) => { this.stopped = resolve; });
    for (const st of this.states.values()) {
      if (st.state === 'draining') { if (timeout === 0) st.worker.process.kill('SIGKILL'); continue; }
      if (st.state === 'booting') { st.state = 'draining'; st.worker.process.kill('SIGKILL'); continue; }
      this.drain(st, timeout);
    }
    if (this.states.size === 0) this.stopped?.();
    await done;
    for (const gen of [this.current, ...this.retired.values()]) await gen.parts?.stop(timeout);
    this.retired.clear();
  }

  /** snapshot reports the master's state (workers, generations, restarts). */
  snapshot(): MasterSnapshot {
    const now = Date.now();
    return {
      pid: process.pid, generation: this.current.id, reloads: this.reloads, restarts: this.restarts,
      workers: [...this.states.values()].map((s) => ({ slot: s.slot, pid: s.pid, generation: s.generation, state: s.state, uptimeMs: now - s.started, requests: s.requests })),
    };
  }
}
