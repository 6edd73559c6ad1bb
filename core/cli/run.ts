import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { loadConfig, logDiagnostics, type Loaded } from '../load.js';
import { openLogTarget } from '../log-target.js';
import { TextLogger } from '../logger.js';
import { Master } from '../process/master.js';
import { EXIT, printDiagnostics, type Io } from './io.js';
import { claimFiles, onSignals, reporter, type Serving } from './run-shared.js';
import { SingleServer } from './run-single.js';

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

/**
 * runCommand serves a config until TERM/INT (graceful) or QUIT (fast): with `workers 0`
 * in this process, else as a master that forks and supervises workers.
 */
export async function runCommand(o: RunOptions): Promise<number> {
  const file = pickConfigFile(o.file, o.quickstart, o.io);
  const loaded = await loadConfig(file, { root: o.root });
  if (!loaded.config) { printDiagnostics(o.io, loaded.diagnostics, loaded.sources); return EXIT.config; }
  const g = loaded.config.global;
  const target = openLogTarget(g.errorLog);
  const log = new TextLogger(target.sink, g.logLevel, g.workers === 0 ? {} : { role: 'master' });
  logDiagnostics(log, loaded.diagnostics); // warnings only: a config with errors does not run
  const claim = claimFiles(file, loaded, log);
  if ('busy' in claim) { await target.close(); o.io.err(`gatekit: ${claim.busy}`); return EXIT.runtime; }
  const serving: Serving = { target, log, ...(claim.files ? { files: claim.files } : {}), report: reporter(claim.files, log) };
  return g.workers === 0 ? new SingleServer(file, loaded, o.root, o.io, serving).run() : runMaster(file, loaded, o, serving);
}

/** runMaster serves as a master that forks and supervises workers. */
async function runMaster(file: string, loaded: Loaded, o: RunOptions, s: Serving): Promise<number> {
  const { target, log } = s;
  const master = new Master(file, o.root, log, s.report);
  let stopping = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => { finish = resolve; });
  const stop = (timeout: number, why: string): void => {
    if (stopping && timeout !== 0) return;
    stopping = true;
    log.info('stopping', { signal: why });
    void master.stop(timeout).then(async () => { off(); s.files?.release(); await target.close(); finish(EXIT.ok); });
  };
  const graceful = (): number => master.currentSettings().gracefulTimeout;
  // Handlers go in before anything is announced, so a signal sent on seeing a log line is never lost.
  const off = onSignals({
    SIGTERM: () => stop(graceful(), 'TERM'), SIGINT: () => stop(graceful(), 'INT'), SIGQUIT: () => stop(0, 'QUIT'),
    SIGHUP: () => void master.reload(), SIGUSR1: () => { target.reopen(); master.reopenLogs(); },
    SIGTTIN: () => master.resize(1), SIGTTOU: () => master.resize(-1),
  });
  const failure = await master.start(loaded);
  if (failure) { off(); s.files?.release(); await target.close(); o.io.err(`gatekit: cannot start: ${failure}`); return EXIT.runtime; }
  if (stopping) return finished;
  log.info('master running', { pid: process.pid, workers: master.snapshot().workers.length, config: file });
  return finished;
}
