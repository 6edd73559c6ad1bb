import type { GenerationSettings, MasterInput, MasterOutput, VerdictOutcome } from './master-events.js';
import type { ToMaster } from './protocol.js';

/** BOOT_TIMEOUT is how long a worker may take to be ready before it is killed. */
export const BOOT_TIMEOUT = 30_000;
/** KILL_GRACE is how long past a deadline (drain, heartbeat) a worker gets before SIGKILL. */
export const KILL_GRACE = 2_000;
/** FIRST_BACKOFF is the wait before a worker that died at start is tried again; it doubles. */
const FIRST_BACKOFF = 100;
/** MAX_BACKOFF caps that wait. */
export const MAX_BACKOFF = 30_000;
/** MAX_DRAINING_GENERATIONS is how many generations may drain at once: past it, the oldest is killed. */
const MAX_DRAINING_GENERATIONS = 2;

/**
 * MasterMode says what a worker is. 'prefork': a process the master forks, watches and may
 * kill. 'single' (workers 0): the Gate in the master's own process, which it neither watches
 * nor kills; a reload starts the next one beside it, which takes the listening sockets over
 * (core/listen-pool.ts) before the old one drains, as a new worker process would.
 */
export type MasterMode = 'prefork' | 'single';

/** MachineOptions are the constants of one master: its mode, its config file and its pid (for log lines). */
export interface MachineOptions {
  readonly mode: MasterMode;
  readonly file: string;
  readonly pid: number;
}

interface WorkerRecord {
  readonly id: number;
  readonly slot: number;
  readonly generation: number;
  pid?: number;
  state: 'booting' | 'ready' | 'draining';
  readonly started: number;
  lastBeat: number;
  requests: number;
  /** replaces is the worker this one takes over from once ready (max_requests). */
  replaces?: number;
  replacement?: number;
  bootError?: string;
  /** killAt is when a draining worker is killed if it has not exited. */
  killAt?: number;
  killed: boolean;
}

type PartsState = 'none' | 'starting' | 'running' | 'stopping' | 'stopped';

interface Generation<C> {
  readonly id: number;
  readonly config: C;
  readonly settings: GenerationSettings;
  /** readAt is when its config was read: the verdict answers every HUP sent before. */
  readonly readAt: number;
  size: number;
  parts: PartsState;
  /** leaveTimeout is what its master parts get to stop once it no longer serves. */
  leaveTimeout?: number;
}

/** MasterSnapshot is the master's state, for status pages and tests. */
export interface MasterSnapshot {
  readonly generation: number;
  readonly reloads: number;
  readonly restarts: number;
  readonly workers: readonly { id: number; slot: number; pid?: number; generation: number; state: string; uptimeMs: number; requests: number }[];
}

/**
 * MasterMachine is every decision of the master, with no I/O: `step` takes one input (a worker
 * spoke or exited, a signal, the time) and returns what to do. It forks the workers of the
 * current generation and keeps them alive: it replaces a worker that dies (with backoff while
 * they keep dying at start), recycles one after max_requests (replacement first), kills one
 * that stops beating, and reloads by starting a new generation and retiring the old one only
 * once every new worker is ready, rolling back when they cannot start. HUPs during a start or a
 * reload are coalesced into one reload after it.
 */
export class MasterMachine<C> {
  private readonly gens = new Map<number, Generation<C>>();
  private readonly workers = new Map<number, WorkerRecord>();
  private readonly respawns = new Map<number, number>(); // slot → when
  private readonly failures = new Map<number, number>(); // slot → consecutive deaths at start
  private current!: Generation<C>;
  private pending: Generation<C> | undefined;
  private loadingSince: number | undefined;
  private booted = false;
  private reloadQueued = false;
  private stopping: { timeout: number; failure?: string } | undefined;
  private done = false;
  private nextId = 1;
  private nextGeneration = 1;
  private reloads = 0;
  private restarts = 0;
  private now = 0;
  private out: MasterOutput<C>[] = [];

  constructor(private readonly o: MachineOptions) {}

  private get single(): boolean {
    return this.o.mode === 'single';
  }

  /** step applies one input at time `now` (ms) and returns the outputs, in order. */
  step(input: MasterInput<C>, now: number): MasterOutput<C>[] {
    this.now = now;
    this.out = [];
    if (this.done) return this.out;
    this.apply(input);
    this.settle();
    return this.out;
  }

  private apply(i: MasterInput<C>): void {
    if (!this.gens.size && i.kind !== 'start') return;
    switch (i.kind) {
      case 'start':
        return this.start(i.config, i.settings);
      case 'forked': {
        const w = this.workers.get(i.id);
        if (w) w.pid = i.pid;
        return;
      }
      case 'message': {
        const w = this.workers.get(i.id);
        if (w) this.message(w, i.message);
        return;
      }
      case 'exit':
        return this.exited(i.id, i.signal ? `signal ${i.signal}` : `code ${i.code}`);
      case 'reload':
        return this.reload();
      case 'config-loaded':
        return this.configLoaded(i.config, i.settings);
      case 'config-refused':
        return this.configRefused(i.config);
      case 'parts-started':
        return this.partsStarted(i.generation);
      case 'parts-failed':
        return this.partsFailed(i.generation, i.error);
      case 'parts-stopped': {
        const g = this.gens.get(i.generation);
        if (g) g.parts = 'stopped';
        return;
      }
      case 'resize':
        return this.resize(i.delta);
      case 'reopen':
        for (const w of this.workers.values()) if (w.state !== 'draining') this.emit({ kind: 'send', id: w.id, message: { t: 'reopen' } });
        return;
      case 'stop':
        return this.stop(i.fast, i.signal);
      case 'tick':
        return this.tick();
    }
  }

  private emit(o: MasterOutput<C>): void {
    this.out.push(o);
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, string | number | undefined> = {}): void {
    this.emit({ kind: 'log', level, msg, fields });
  }

  private verdict(at: number, outcome: VerdictOutcome, config: C, reason?: string): void {
    this.emit({ kind: 'verdict', at, outcome, config, ...(reason === undefined ? {} : { reason }) });
  }

  private start(config: C, settings: GenerationSettings): void {
    if (this.gens.size) return;
    this.current = this.generation(config, settings, this.now);
    this.startParts(this.current);
  }

  private generation(config: C, settings: GenerationSettings, readAt: number): Generation<C> {
    const g: Generation<C> = { id: this.nextGeneration++, config, settings, readAt, size: this.single ? 1 : Math.max(1, settings.workers), parts: 'none' };
    this.gens.set(g.id, g);
    return g;
  }

  private startParts(g: Generation<C>, previous?: number): void {
    g.parts = 'starting';
    this.emit({ kind: 'start-parts', generation: g.id, config: g.config, ...(previous === undefined ? {} : { previous }) });
  }

  private stopParts(g: Generation<C>, timeout: number): void {
    g.parts = 'stopping';
    this.emit({ kind: 'stop-parts', generation: g.id, timeout });
  }

  private partsStarted(id: number): void {
    const g = this.gens.get(id);
    if (g?.parts !== 'starting') return;
    g.parts = 'running';
    if (this.stopping || (g !== this.current && g !== this.pending)) return; // settle stops them
    if (g === this.pending && !this.single) this.log('info', 'reloading', { generation: g.id, workers: g.size });
    for (let slot = 1; slot <= g.size; slot++) this.fork(g, slot);
  }

  private partsFailed(id: number, error: string): void {
    const g = this.gens.get(id);
    if (g?.parts !== 'starting') return;
    g.parts = 'stopped'; // those that had started are stopped already
    if (this.stopping) return;
    if (g === this.current && !this.booted) this.halt(0, `cannot start: ${error}`);
    else if (g === this.pending) this.rollBack(error, 'parts');
  }

  private fork(g: Generation<C>, slot: number, replaces?: WorkerRecord): void {
    const w: WorkerRecord = { id: this.nextId++, slot, generation: g.id, state: 'booting', started: this.now, lastBeat: this.now, requests: 0, killed: false };
    if (replaces) {
      w.replaces = replaces.id;
      replaces.replacement = w.id;
    }
    this.workers.set(w.id, w);
    this.emit({ kind: 'fork', id: w.id, slot, generation: g.id, config: g.config });
  }

  private workersOf(g: Generation<C>): WorkerRecord[] {
    return [...this.workers.values()].filter((w) => w.generation === g.id);
  }

  private allReady(g: Generation<C>): boolean {
    return this.workersOf(g).filter((w) => w.state === 'ready').length >= g.size;
  }

  private drain(w: WorkerRecord, timeout: number): void {
    if (w.state === 'draining') return;
    w.state = 'draining';
    this.emit({ kind: 'send', id: w.id, message: { t: 'drain', timeout } });
    if (!this.single) w.killAt = this.now + timeout + KILL_GRACE;
  }

  private kill(w: WorkerRecord): void {
    if (w.killed) return;
    w.killed = true;
    this.emit({ kind: 'kill', id: w.id, signal: 'SIGKILL' });
  }

  private message(w: WorkerRecord, m: ToMaster): void {
    switch (m.t) {
      case 'hello': {
        const g = w.generation === this.current.id || w.generation === this.pending?.id ? this.gens.get(w.generation)! : undefined;
        if (g && w.state !== 'draining') this.emit({ kind: 'configure', id: w.id, slot: w.slot, generation: g.id, config: g.config });
        else if (w.state === 'draining')
          this.emit({ kind: 'send', id: w.id, message: { t: 'drain', timeout: 0 } }); // told before it listened
        else this.drain(w, 0);
        return;
      }
      case 'ready':
        return this.ready(w);
      case 'boot-failed':
        w.bootError = m.error;
        return;
      case 'beat':
        w.lastBeat = this.now;
        w.requests = m.requests;
        return;
      case 'recycle':
        w.requests = m.requests;
        if (w.state !== 'ready' || w.replacement !== undefined || this.stopping || w.generation !== this.current.id) return;
        this.log('info', 'worker reached max_requests; replacing it', { worker: w.slot, pid: w.pid, requests: m.requests });
        this.fork(this.current, w.slot, w);
        return;
      case 'stats':
      case 'upstream-done':
        return; // answers to the admin, taken by master-control.ts before the machine hears them
    }
  }

  private ready(w: WorkerRecord): void {
    if (w.state !== 'booting') return;
    w.state = 'ready';
    w.lastBeat = this.now;
    this.failures.delete(w.slot);
    if (!this.single) this.log('info', 'worker ready', { worker: w.slot, pid: w.pid, generation: w.generation });
    const old = w.replaces === undefined ? undefined : this.workers.get(w.replaces);
    w.replaces = undefined;
    if (old) this.drain(old, this.current.settings.gracefulTimeout);
  }

  private exited(id: number, how: string): void {
    const w = this.workers.get(id);
    if (!w) return;
    this.workers.delete(id);
    const old = w.replaces === undefined ? undefined : this.workers.get(w.replaces);
    if (old?.replacement === id) old.replacement = undefined;
    const next = w.replacement === undefined ? undefined : this.workers.get(w.replacement);
    if (next) next.replaces = undefined;
    if (w.state === 'draining') {
      if (!this.single) this.log('info', 'worker exited', { worker: w.slot, pid: w.pid, generation: w.generation });
      return;
    }
    if (!this.single)
      this.log('error', `worker ${w.slot} (pid ${w.pid}) exited with ${how}${w.bootError ? `: ${w.bootError}` : ''}`, {
        generation: w.generation,
        state: w.state,
      });
    if (this.stopping) return;
    const booting = w.state === 'booting';
    if (booting && !this.booted && w.generation === this.current.id)
      this.halt(0, `cannot start: ${w.bootError ?? `a worker exited with ${how} before it was ready`}`);
    else if (w.generation === this.pending?.id) this.rollBack(w.bootError ?? `a new worker exited with ${how}`, 'workers');
    else if (w.generation === this.current.id && w.replaces === undefined) this.respawn(w.slot, booting);
    // else: an old generation's worker, or a failed replacement (the worker it was to replace keeps serving)
  }

  private respawn(slot: number, atStart: boolean): void {
    const fails = atStart ? (this.failures.get(slot) ?? 0) + 1 : 0;
    this.failures.set(slot, fails);
    const delay = fails === 0 ? 0 : Math.min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (fails - 1));
    this.restarts++;
    if (delay) this.log('warn', `worker ${slot} keeps failing at start; next try in ${delay}ms`, { failures: fails });
    this.respawns.set(slot, this.now + delay);
  }

  private reload(): void {
    if (this.stopping) return;
    if (!this.booted || this.loadingSince !== undefined || this.pending) {
      this.reloadQueued = true;
      return;
    }
    this.loadingSince = this.now;
    this.emit({ kind: 'load-config' });
  }

  private configLoaded(config: C, settings: GenerationSettings): void {
    const at = this.loadingSince;
    this.loadingSince = undefined;
    if (at === undefined || this.stopping) return;
    this.emit({ kind: 'diagnostics', config }); // warnings
    this.pending = this.generation(config, settings, at);
    this.startParts(this.pending, this.current.id);
  }

  private configRefused(config: C): void {
    const at = this.loadingSince;
    this.loadingSince = undefined;
    if (at === undefined || this.stopping) return;
    this.log('error', 'reload refused: the new config has errors; still serving the old one', { config: this.o.file });
    this.emit({ kind: 'diagnostics', config });
    this.verdict(at, 'refused', config);
  }

  /** rollBack gives up the pending generation: the old one goes on serving. */
  private rollBack(reason: string, during: 'parts' | 'workers'): void {
    const g = this.pending!;
    this.pending = undefined;
    g.leaveTimeout = 0;
    for (const w of this.workersOf(g)) {
      w.state = 'draining';
      this.kill(w);
    }
    if (during === 'parts' || this.single) {
      this.log('error', 'reload failed; still serving the old config', { reason, generation: this.current.id });
      this.verdict(g.readAt, 'failed', g.config, reason);
    } else {
      this.log('error', 'reload failed: new workers did not become ready; still serving the old config', { reason, generation: this.current.id });
      this.verdict(g.readAt, 'failed', g.config, `new workers did not become ready: ${reason}`);
    }
  }

  private promote(): void {
    const old = this.current;
    const g = this.pending!;
    this.current = g;
    this.pending = undefined;
    old.leaveTimeout = old.settings.gracefulTimeout;
    this.reloads++;
    for (const w of this.workers.values()) if (w.generation !== g.id) this.drain(w, old.settings.gracefulTimeout);
    this.capDraining();
    if (this.single) this.log('info', 'reloaded', { config: this.o.file });
    else this.log('info', 'reloaded: new workers ready, old ones draining', { generation: g.id, workers: g.size });
    this.verdict(g.readAt, 'reloaded', g.config);
  }

  private capDraining(): void {
    const draining = [...new Set([...this.workers.values()].filter((w) => w.state === 'draining').map((w) => w.generation))].sort((a, b) => a - b);
    for (const id of draining.slice(0, Math.max(0, draining.length - MAX_DRAINING_GENERATIONS))) {
      this.log('warn', 'too many generations draining; killing the oldest', { generation: id });
      for (const w of this.workers.values()) if (w.generation === id) this.kill(w);
    }
  }

  private resize(delta: 1 | -1): void {
    if (this.stopping) return;
    if (this.single) {
      this.log('warn', `${delta > 0 ? 'TTIN' : 'TTOU'} ignored: with workers 0 there is no worker to add or retire`);
      return;
    }
    // Both the generation serving and the one a reload starts: either way it ends, the change holds.
    for (const g of this.pending ? [this.current, this.pending] : [this.current]) {
      if (delta > 0) {
        g.size++;
        if (g.parts === 'running') this.fork(g, g.size);
        continue;
      }
      if (g.size <= 1) continue;
      const slot = g.size--;
      for (const w of this.workersOf(g)) if (w.slot === slot) this.drain(w, g.settings.gracefulTimeout);
    }
  }

  private stop(fast: boolean, signal: string): void {
    if (this.stopping && !fast) return;
    this.log('info', 'stopping', { signal });
    this.halt(fast ? 0 : this.current.settings.gracefulTimeout, this.stopping?.failure);
  }

  /** halt stops everything: workers drain within `timeout` (0: booting ones and drained ones are killed). */
  private halt(timeout: number, failure?: string): void {
    this.stopping = { timeout, ...(failure === undefined ? {} : { failure }) };
    this.reloadQueued = false;
    this.respawns.clear();
    for (const w of this.workers.values()) {
      if (w.state === 'ready') this.drain(w, timeout);
      else if (w.state === 'booting' || timeout === 0) {
        w.state = 'draining';
        this.kill(w);
      }
    }
  }

  private tick(): void {
    if (this.single) return; // the in-process worker is neither watched nor killed
    for (const w of this.workers.values()) {
      if (w.killed) continue;
      if (w.state === 'draining') {
        if (w.killAt !== undefined && this.now >= w.killAt) this.kill(w);
      } else if (w.state === 'booting') {
        if (this.now - w.started > BOOT_TIMEOUT) {
          w.bootError = `not ready after ${BOOT_TIMEOUT}ms`;
          this.kill(w);
        }
      } else {
        const timeout = this.gens.get(w.generation)?.settings.workerTimeout ?? 0;
        if (timeout <= 0 || this.now - w.lastBeat <= timeout + KILL_GRACE) continue;
        this.log('error', `worker ${w.slot} (pid ${w.pid}) missed its heartbeats for ${this.now - w.lastBeat}ms; killing it`, { generation: w.generation });
        this.kill(w);
      }
    }
  }

  /** settle does what the state now calls for: respawns due, the first boot or a reload complete, generations to retire, a queued reload. */
  private settle(): void {
    if (!this.gens.size) return;
    if (this.stopping) {
      this.settleStop();
      return;
    }
    for (const [slot, at] of this.respawns) {
      if (at > this.now) continue;
      this.respawns.delete(slot);
      if (this.slotFree(slot)) this.fork(this.current, slot);
    }
    if (!this.booted && this.allReady(this.current)) {
      this.booted = true;
      if (!this.single) this.log('info', 'master running', { pid: this.o.pid, workers: this.current.size, config: this.o.file });
    }
    if (this.pending?.parts === 'running' && this.allReady(this.pending)) this.promote();
    this.retire();
    if (this.booted && this.reloadQueued && this.loadingSince === undefined && !this.pending) {
      this.reloadQueued = false;
      this.reload();
    }
  }

  private slotFree(slot: number): boolean {
    return slot <= this.current.size && !this.workersOf(this.current).some((w) => w.slot === slot && w.state !== 'draining');
  }

  /** retire stops the master parts of a generation that no longer serves once its last worker has gone. */
  private retire(): void {
    for (const g of this.gens.values()) {
      if (g === this.current || g === this.pending || this.workersOf(g).length) continue;
      if (g.parts === 'running') this.stopParts(g, g.leaveTimeout ?? g.settings.gracefulTimeout);
      else if (g.parts === 'stopped' || g.parts === 'none') this.gens.delete(g.id);
    }
  }

  private settleStop(): void {
    if (this.workers.size) return;
    const timeout = this.stopping!.timeout;
    for (const g of [this.current, ...this.gens.values()]) if (g.parts === 'running') this.stopParts(g, timeout);
    if ([...this.gens.values()].some((g) => g.parts === 'starting' || g.parts === 'stopping')) return;
    this.done = true;
    const failure = this.stopping!.failure;
    this.emit({ kind: 'exit', ...(failure === undefined ? {} : { failure }) });
  }

  /** snapshot reports the workers, generations and restarts at time `now`. */
  snapshot(now: number): MasterSnapshot {
    return {
      generation: this.current.id,
      reloads: this.reloads,
      restarts: this.restarts,
      workers: [...this.workers.values()].map((w) => ({
        id: w.id,
        slot: w.slot,
        ...(w.pid === undefined ? {} : { pid: w.pid }),
        generation: w.generation,
        state: w.state,
        uptimeMs: now - w.started,
        requests: w.requests,
      })),
    };
  }
}
