import { availableParallelism } from 'node:os';
import type { DependencyContainer } from 'tsyringe';
import { loadConfig, logDiagnostics, type Loaded } from '../load.js';
import type { Logger } from '../logger.js';
import type { GenerationSettings, MasterInput, MasterOutput, VerdictOutcome } from './master-events.js';
import { MasterMachine, type MasterMode } from './master-machine.js';
import { Control } from './master-control.js';
import { startMasterParts, type MasterParts } from './master-parts.js';
import { Residents } from './residents.js';
import type { ToWorker } from './protocol.js';
import { RunDirs } from './run-dirs.js';

/** ReloadVerdict is how a reload ended, for whoever runs the master (`gatekit reload` waits for it). */
export interface ReloadVerdict {
  /** at is when the config was read: a reload asked for before then is answered by this one. */
  readonly at: number;
  readonly outcome: VerdictOutcome;
  /** loaded is the config read: its diagnostics say why it was refused, or warn. */
  readonly loaded: Loaded;
  /** reason says why a config that checked could not be served. */
  readonly reason?: string;
}

/** WorkerHost is where the master's workers run: processes forked by node:cluster, or this very process (workers 0). */
export interface WorkerHost {
  readonly mode: MasterMode;
  /** open starts passing what workers say and do (messages, exits) to `input`. */
  open(input: (i: MasterInput<Loaded>) => void, first: Loaded): void;
  /** fork starts worker `id` for `slot` of a generation (whose run folder is `runDir`) and returns its pid. */
  fork(id: number, slot: number, generation: number, runDir: string, loaded: Loaded): number;
  /** configure sends worker `id` the config it is to serve. */
  configure(id: number, slot: number, generation: number, runDir: string, loaded: Loaded): void;
  /** send sends worker `id` a message (drain, reopen). */
  send(id: number, message: ToWorker): void;
  /** kill ends worker `id` at once. */
  kill(id: number): void;
  /** close stops passing events on. */
  close(): void;
}

/** MasterOptions are what a master needs besides its first config. */
export interface MasterOptions {
  readonly file: string;
  readonly root: DependencyContainer;
  readonly log: Logger;
  readonly host: WorkerHost;
  /** report records how a reload ended. */
  readonly report: (v: ReloadVerdict) => void;
}

/** TICK_MS is how often the machine is told the time (deadlines, backoff). */
const TICK_MS = 100;

/** settingsOf reads what the master needs from a config (`workers auto`: one per CPU). */
export function settingsOf(loaded: Loaded): GenerationSettings {
  const g = loaded.config!.global;
  return { workers: g.workers === 'auto' ? availableParallelism() : g.workers, gracefulTimeout: g.gracefulTimeout, workerTimeout: g.workerTimeout };
}

/**
 * Master is the thin adapter around MasterMachine: it turns worker events, signals (through
 * `input`) and time into inputs, and performs the outputs: forking through its WorkerHost,
 * loading configs, starting and stopping the plugins' master parts, logging. It decides nothing.
 */
export class Master {
  private readonly machine: MasterMachine<Loaded>;
  private readonly parts = new Map<number, MasterParts>();
  private readonly runDirs = new RunDirs();
  private readonly queue: MasterInput<Loaded>[] = [];
  private stepping = false;
  private ticker: NodeJS.Timeout | undefined;
  private finish: (failure: string | undefined) => void = () => {};
  /** serving is the config in force; nextFiles replace files on disk for the next reload (admin POST /config). */
  private serving!: Loaded;
  private nextFiles: ReadonlyMap<string, string> | undefined;
  private readonly control: Control;
  private readonly residents: Residents;

  constructor(private readonly o: MasterOptions) {
    this.machine = new MasterMachine({ mode: o.host.mode, file: o.file, pid: process.pid });
    this.control = new Control({
      file: o.file,
      snapshot: () => this.machine.snapshot(Date.now()),
      send: (id, message) => o.host.send(id, message),
      reload: (files) => {
        this.nextFiles = files;
        this.input({ kind: 'reload' });
      },
      serving: () => this.serving,
    });
    this.residents = new Residents(o.log, this.control);
  }

  /** run serves `loaded` (checked) until the master stops; it resolves with why it failed, if it did. */
  run(loaded: Loaded): Promise<string | undefined> {
    const done = new Promise<string | undefined>((resolve) => {
      this.finish = resolve;
    });
    this.serving = loaded;
    this.residents.apply(loaded).then(
      () => {
        this.o.host.open((i) => this.input(i), loaded);
        this.ticker = setInterval(() => this.input({ kind: 'tick' }), TICK_MS);
        this.input({ kind: 'start', config: loaded, settings: settingsOf(loaded) });
      },
      async (e: Error) => {
        await this.residents.stop();
        this.finish(e.message);
      },
    );
    return done;
  }

  /** input hands one event to the machine and performs its outputs; events raised meanwhile wait their turn. */
  input(i: MasterInput<Loaded>): void {
    if (i.kind === 'message' && this.control.answered(i.message)) return; // an answer to the admin, not a decision
    if (i.kind === 'message' && i.message.t === 'ready') this.control.workerReady(i.id);
    this.queue.push(i);
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        for (const out of this.machine.step(next, Date.now())) this.perform(out);
      }
    } finally {
      this.stepping = false;
    }
  }

  private perform(out: MasterOutput<Loaded>): void {
    const { host, log } = this.o;
    switch (out.kind) {
      case 'fork':
        this.input({ kind: 'forked', id: out.id, pid: host.fork(out.id, out.slot, out.generation, this.runDirOf(out.generation), out.config) });
        return;
      case 'configure':
        host.configure(out.id, out.slot, out.generation, this.runDirOf(out.generation), out.config);
        return;
      case 'send':
        host.send(out.id, out.message);
        return;
      case 'kill':
        host.kill(out.id);
        return;
      case 'log':
        log[out.level](out.msg, out.fields);
        return;
      case 'diagnostics':
        logDiagnostics(log, out.config.diagnostics);
        return;
      case 'load-config':
        void this.load();
        return;
      case 'start-parts':
        void this.startParts(out.generation, out.config, out.previous);
        return;
      case 'stop-parts':
        void this.stopParts(out.generation, out.timeout);
        return;
      case 'verdict':
        this.verdict({ at: out.at, outcome: out.outcome, loaded: out.config, ...(out.reason === undefined ? {} : { reason: out.reason }) });
        return;
      case 'exit':
        clearInterval(this.ticker);
        host.close();
        this.runDirs.removeAll();
        void this.residents.stop().then(() => this.finish(out.failure));
    }
  }

  private verdict(v: ReloadVerdict): void {
    if (v.outcome === 'reloaded') {
      this.serving = v.loaded;
      // the residents take the new config before anyone hears of it: an admin that answers a reload has moved already
      this.residents
        .apply(v.loaded)
        .catch((e: Error) => this.o.log.error('a resident part could not take the new config', { error: e.message }))
        .finally(() => {
          this.control.verdict(v);
          this.o.report(v);
        });
      return;
    }
    this.control.verdict(v);
    this.o.report(v);
  }

  private async load(): Promise<void> {
    const files = this.nextFiles;
    this.nextFiles = undefined;
    const loaded = await loadConfig(this.o.file, { root: this.o.root, ...(files ? { files } : {}) });
    this.input(loaded.config ? { kind: 'config-loaded', config: loaded, settings: settingsOf(loaded) } : { kind: 'config-refused', config: loaded });
  }

  private async startParts(generation: number, loaded: Loaded, previous: number | undefined): Promise<void> {
    const role = this.o.host.mode === 'single' ? 'single' : 'master';
    try {
      const runDir = this.runDirs.open(generation);
      this.parts.set(
        generation,
        await startMasterParts(loaded, { generation, role, runDir }, this.o.log, previous === undefined ? undefined : this.parts.get(previous)),
      );
    } catch (e) {
      this.runDirs.remove(generation);
      this.input({ kind: 'parts-failed', generation, error: (e as Error).message });
      return;
    }
    this.input({ kind: 'parts-started', generation });
  }

  private async stopParts(generation: number, timeout: number): Promise<void> {
    const parts = this.parts.get(generation);
    this.parts.delete(generation);
    await parts?.stop(timeout);
    this.runDirs.remove(generation);
    this.input({ kind: 'parts-stopped', generation });
  }

  /** runDirOf is a generation's run folder: its parts started (the machine forks no worker before), so it is there. */
  private runDirOf(generation: number): string {
    const dir = this.runDirs.of(generation);
    if (dir === undefined) throw new Error(`no run folder for generation ${generation}`);
    return dir;
  }
}
