import type { DependencyContainer } from 'tsyringe';
import { GateError } from '../errors.js';
import { Gate } from '../gate.js';
import { loadConfig, logDiagnostics, type Loaded } from '../load.js';
import type { Logger } from '../logger.js';
import { startMasterParts } from '../process/master-parts.js';
import { dropPrivileges } from '../process/privileges.js';
import { EXIT, type Io } from './io.js';
import { logListening, onSignals, type Serving } from './run-shared.js';

/** Served is a config served by this very process: its master parts and its gate. */
interface Served {
  readonly gate: Gate;
  close(timeout: number): Promise<void>;
}

async function serveHere(loaded: Loaded, generation: number, log: Logger): Promise<Served> {
  const parts = await startMasterParts(loaded, generation, 'single', log);
  let gate: Gate;
  try { gate = await Gate.start(loaded, { logger: log, process: { pid: process.pid, role: 'single', workerId: 0, generation } }); } catch (e) {
    await parts.stop(0);
    throw e;
  }
  return { gate, close: async (timeout) => { await gate.close(timeout); await parts.stop(timeout); } };
}

/**
 * SingleServer serves a config in this process (`workers 0`). HUP re-reads the config: one
 * that does not check is refused and the old one keeps serving; one that does replaces the old
 * listeners (zero-downtime reload needs workers). Signals that come while it starts wait for it.
 */
export class SingleServer {
  private served: Served | undefined;
  private generation = 1;
  private reloading = false;
  private reloadQueued = false;
  private stopAsked: [timeout: number, why: string] | undefined;
  private finish: (code: number) => void = () => {};
  private off = (): void => {};

  constructor(private readonly file: string, private loaded: Loaded, private readonly root: DependencyContainer, private readonly io: Io, private readonly s: Serving) {}

  private get graceful(): number { return this.loaded.config!.global.gracefulTimeout; }

  /** run serves until TERM/INT (graceful) or QUIT (fast) and resolves with the exit code. */
  async run(): Promise<number> {
    const finished = new Promise<number>((resolve) => { this.finish = resolve; });
    this.off = onSignals({
      SIGTERM: () => void this.stop(this.graceful, 'TERM'), SIGINT: () => void this.stop(this.graceful, 'INT'),
      SIGQUIT: () => void this.stop(0, 'QUIT'), SIGHUP: () => void this.reload(),
      SIGUSR1: () => { this.s.target.reopen(); void this.served?.gate.reopen(); },
    });
    try { this.served = await serveHere(this.loaded, this.generation, this.s.log); dropPrivileges(this.loaded.config!.global, this.s.log); } catch (e) {
      this.off();
      this.s.files?.release();
      await this.s.target.close();
      this.io.err(`gatekit: ${e instanceof GateError ? e.message : (e as Error).message}`);
      return EXIT.runtime;
    }
    logListening(this.served.gate, this.s.log, this.file);
    if (this.stopAsked) void this.stop(...this.stopAsked);
    else if (this.reloadQueued) void this.reload();
    return finished;
  }

  private async stop(timeout: number, why: string): Promise<void> {
    if (!this.served) { this.stopAsked ??= [timeout, why]; return; } // still starting
    this.s.log.info('stopping', { signal: why });
    const served = this.served;
    this.served = undefined;
    await served.close(timeout);
    this.s.files?.release();
    this.off();
    await this.s.target.close();
    this.finish(EXIT.ok);
  }

  /** reload re-reads the config; one asked for while another runs (or while starting) runs after it. */
  private async reload(): Promise<void> {
    if (this.reloading || !this.served) { this.reloadQueued = true; return; }
    this.reloading = true;
    this.reloadQueued = false;
    try { await this.reloadOnce(this.served); } catch (e) {
      this.s.log.error('reload failed, and the old config could not be served again; stopping', { error: (e as Error).message });
      this.s.files?.release();
      this.off();
      await this.s.target.close();
      this.finish(EXIT.runtime);
      return;
    } finally { this.reloading = false; }
    if (this.reloadQueued && this.served) void this.reload();
  }

  private async reloadOnce(old: Served): Promise<void> {
    const at = Date.now();
    const next = await loadConfig(this.file, { root: this.root });
    const log = this.s.log;
    if (!next.config) {
      log.error('reload refused: the new config has errors; still serving the old one', { config: this.file });
      logDiagnostics(log, next.diagnostics);
      this.s.report({ at, outcome: 'refused', loaded: next });
      return;
    }
    logDiagnostics(log, next.diagnostics);
    await old.close(this.graceful);
    try {
      this.served = await serveHere(next, ++this.generation, log);
      this.loaded = next;
      logListening(this.served.gate, log, this.file);
      log.info('reloaded', { config: this.file });
      this.s.report({ at, outcome: 'reloaded', loaded: next });
    } catch (e) {
      log.error('reload failed; restoring the old config', { error: (e as Error).message });
      this.served = await serveHere(this.loaded, ++this.generation, log);
      logListening(this.served.gate, log, this.file);
      this.s.report({ at, outcome: 'failed', loaded: next, reason: (e as Error).message });
    }
  }
}
