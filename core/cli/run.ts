import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { GateError } from '../errors.js';
import { Gate, type BoundAddress } from '../gate.js';
import { loadConfig, logDiagnostics, type Loaded } from '../load.js';
import { openLogTarget } from '../log-target.js';
import { TextLogger, type Logger } from '../logger.js';
import { Master } from '../process/master.js';
import { startMasterParts } from '../process/master-parts.js';
import { dropPrivileges } from '../process/privileges.js';
import { EXIT, printDiagnostics, type Io } from './io.js';
import { pidFileOf, writePid } from './pidfile.js';

/** RunOptions are the inputs of `gatekit run`. */
export interface RunOptions {
  readonly file?: string;
  /** quickstart is served when no file is given and ./gatekit.gate does not exist. */
  readonly quickstart: string;
  readonly root: DependencyContainer;
  readonly io: Io;
}

/** pickConfigFile resolves `run [FILE]`: the file given, ./gatekit.gate, or the quickstart sample. */
export function pickConfigFile(file: string | undefined, quickstart: string, io: Io): string {
  if (file) return resolve(file);
  const local = resolve('gatekit.gate');
  if (existsSync(local)) return local;
  io.err(`gatekit: no ./gatekit.gate here; serving the quickstart sample ${quickstart}`);
  return quickstart;
}

function urlOf(a: BoundAddress): string {
  if (a.path) return `unix:${a.path}`;
  const host = a.host === '::' || a.host === '0.0.0.0' ? '127.0.0.1' : a.host?.includes(':') ? `[${a.host}]` : a.host;
  return `${a.tls ? 'https' : 'http'}://${host}:${a.port}`;
}

function logListening(gate: Gate, log: Logger, file: string): void {
  for (const a of gate.addresses()) log.info('listening', { url: urlOf(a), config: file });
}

/**
 * runCommand serves a config until TERM/INT (graceful) or QUIT (fast): with `workers 0`
 * in this process, else as a master that forks and supervises workers.
 */
export async function runCommand(o: RunOptions): Promise<number> {
  const file = pickConfigFile(o.file, o.quickstart, o.io);
  const loaded = await loadConfig(file, { root: o.root });
  if (!loaded.config) { printDiagnostics(o.io, loaded.diagnostics, loaded.sources); return EXIT.config; }
  return loaded.config.global.workers === 0 ? runSingle(file, loaded, o) : runMaster(file, loaded, o);
}

/** onSignals installs signal handlers and returns the function that removes them. */
function onSignals(handlers: Partial<Record<NodeJS.Signals, () => void>>): () => void {
  const entries = Object.entries(handlers) as [NodeJS.Signals, () => void][];
  for (const [s, h] of entries) process.on(s, h);
  return () => { for (const [s, h] of entries) process.removeListener(s, h); };
}

function pidFor(file: string, loaded: Loaded, log: Logger): () => void {
  const pidFile = pidFileOf(file, loaded.config);
  try { return writePid(pidFile); } catch (e) {
    log.warn('cannot write pid file', { file: pidFile, error: (e as Error).message });
    return () => {};
  }
}

async function runMaster(file: string, loaded: Loaded, o: RunOptions): Promise<number> {
  const g = loaded.config!.global;
  const target = openLogTarget(g.errorLog);
  const log = new TextLogger(target.sink, g.logLevel, { role: 'master' });
  logDiagnostics(log, loaded.diagnostics); // warnings only: a config with errors does not run
  const master = new Master(file, o.root, log);
  let stopping = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => { finish = resolve; });
  let removePid = (): void => {};
  const stop = (timeout: number, why: string): void => {
    if (stopping && timeout !== 0) return;
    stopping = true;
    log.info('stopping', { signal: why });
    void master.stop(timeout).then(async () => { off(); removePid(); await target.close(); finish(EXIT.ok); });
  };
  const graceful = (): number => master.currentSettings().gracefulTimeout;
  // Handlers go in before anything is announced, so a signal sent on seeing a log line is never lost.
  const off = onSignals({
    SIGTERM: () => stop(graceful(), 'TERM'), SIGINT: () => stop(graceful(), 'INT'), SIGQUIT: () => stop(0, 'QUIT'),
    SIGHUP: () => void master.reload(), SIGUSR1: () => { target.reopen(); master.reopenLogs(); },
    SIGTTIN: () => master.resize(1), SIGTTOU: () => master.resize(-1),
  });
  const failure = await master.start(loaded);
  if (failure) { off(); await target.close(); o.io.err(`gatekit: cannot start: ${failure}`); return EXIT.runtime; }
  if (stopping) return finished;
  removePid = pidFor(file, loaded, log);
  log.info('master running', { pid: process.pid, workers: master.snapshot().workers.length, config: file });
  return finished;
}

/**
 * runSingle serves in this process (`workers 0`). HUP re-reads the config: one that does
 * not check is refused and the old one keeps serving; one that does replaces the old
 * listeners (zero-downtime reload needs workers).
 */
async function runSingle(file: string, first: Loaded, o: RunOptions): Promise<number> {
  let loaded = first;
  const target = openLogTarget(loaded.config!.global.errorLog);
  const log = new TextLogger(target.sink, loaded.config!.global.logLevel);
  logDiagnostics(log, loaded.diagnostics); // warnings only: a config with errors does not run
  let generation = 1;
  let served: Served;
  try { served = await serveHere(loaded, generation, log); dropPrivileges(loaded.config!.global, log); } catch (e) {
    await target.close();
    o.io.err(`gatekit: ${e instanceof GateError ? e.message : (e as Error).message}`);
    return EXIT.runtime;
  }
  const removePid = pidFor(file, loaded, log);
  let busy = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => { finish = resolve; });
  const stop = async (timeout: number, why: string): Promise<void> => {
    log.info('stopping', { signal: why });
    await served.close(timeout);
    removePid();
    off();
    await target.close();
    finish(EXIT.ok);
  };
  const reload = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    const next = await loadConfig(file, { root: o.root });
    if (!next.config) {
      log.error('reload refused: the new config has errors; still serving the old one', { config: file });
      logDiagnostics(log, next.diagnostics);
    } else {
      logDiagnostics(log, next.diagnostics);
      await served.close(loaded.config!.global.gracefulTimeout);
      try { served = await serveHere(next, ++generation, log); loaded = next; logListening(served.gate, log, file); log.info('reloaded', { config: file }); } catch (e) {
        log.error('reload failed; restoring the old config', { error: (e as Error).message });
        served = await serveHere(loaded, ++generation, log);
      }
    }
    busy = false;
  };
  const off = onSignals({
    SIGTERM: () => void stop(loaded.config!.global.gracefulTimeout, 'TERM'),
    SIGINT: () => void stop(loaded.config!.global.gracefulTimeout, 'INT'),
    SIGQUIT: () => void stop(0, 'QUIT'),
    SIGHUP: () => void reload(),
    SIGUSR1: () => { target.reopen(); void served.gate.reopen(); },
  });
  logListening(served.gate, log, file);
  return finished;
}

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
