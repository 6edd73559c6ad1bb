import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { loadConfig, logDiagnostics, type Loaded } from '../core/load.js';
import { openLogTarget } from '../core/log-target.js';
import { TextLogger, type Logger } from '../core/logger.js';
import { ClusterWorkers } from '../core/process/cluster-workers.js';
import { InProcessWorker } from '../core/process/in-process.js';
import { Master, type ReloadVerdict } from '../core/process/master.js';
import { EXIT, printDiagnostics, type Io } from './io.js';
import { pidFileOf, ServerFiles } from './pidfile.js';

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
 * runCommand serves a config until TERM/INT (graceful) or QUIT (fast): as a master that
 * forks and supervises workers, or with `workers 0` as a master whose one worker is this
 * process itself. Either way the same Master decides; only where workers run differs.
 */
export async function runCommand(o: RunOptions): Promise<number> {
  const file = pickConfigFile(o.file, o.quickstart, o.io);
  const loaded = await loadConfig(file, { root: o.root });
  if (!loaded.config) {
    printDiagnostics(o.io, loaded.diagnostics, loaded.sources);
    return EXIT.config;
  }
  const g = loaded.config.global;
  const target = openLogTarget(g.errorLog);
  const log = new TextLogger(target.sink, g.logLevel, g.workers === 0 ? {} : { role: 'master' });
  logDiagnostics(log, loaded.diagnostics); // warnings only: a config with errors does not run
  const claim = claimFiles(file, loaded, log);
  if ('busy' in claim) {
    await target.close();
    o.io.err(`gatekit: ${claim.busy}`);
    return EXIT.runtime;
  }
  const host = g.workers === 0 ? new InProcessWorker(file, log) : new ClusterWorkers(file);
  const master = new Master({ file, root: o.root, log, host, report: reporter(claim.files, log) });
  // Handlers go in before anything is announced, so a signal sent on seeing a log line is never lost.
  const off = onSignals({
    SIGTERM: () => master.input({ kind: 'stop', fast: false, signal: 'TERM' }),
    SIGINT: () => master.input({ kind: 'stop', fast: false, signal: 'INT' }),
    SIGQUIT: () => master.input({ kind: 'stop', fast: true, signal: 'QUIT' }),
    SIGHUP: () => master.input({ kind: 'reload' }),
    SIGUSR1: () => {
      target.reopen();
      master.input({ kind: 'reopen' });
    },
    SIGTTIN: () => master.input({ kind: 'resize', delta: 1 }),
    SIGTTOU: () => master.input({ kind: 'resize', delta: -1 }),
  });
  const failure = await master.run(loaded);
  off();
  claim.files?.release();
  await target.close();
  if (failure === undefined) return EXIT.ok;
  o.io.err(`gatekit: ${failure}`);
  return EXIT.runtime;
}

/** onSignals installs signal handlers and returns the function that removes them. */
function onSignals(handlers: Partial<Record<NodeJS.Signals, () => void>>): () => void {
  const entries = Object.entries(handlers) as [NodeJS.Signals, () => void][];
  for (const [s, h] of entries) process.on(s, h);
  return () => {
    for (const [s, h] of entries) process.removeListener(s, h);
  };
}

/**
 * claimFiles writes the pid and state files before anything listens, so `gatekit stop` works
 * from the first moment a client can connect. It returns why not when a live gatekit holds the
 * pid file; files that cannot be written are only a warning.
 */
function claimFiles(file: string, loaded: Loaded, log: Logger): { readonly files?: ServerFiles } | { readonly busy: string } {
  const pidFile = pidFileOf(file, loaded.config!.global);
  try {
    const r = ServerFiles.claim(pidFile, file);
    return typeof r === 'string' ? { busy: r } : { files: r };
  } catch (e) {
    log.warn('cannot write pid file', { file: pidFile, error: (e as Error).message });
    return {};
  }
}

/** renderedDiagnostics renders a config's diagnostics as `gatekit check` prints them. */
function renderedDiagnostics(loaded: Loaded): string {
  let text = '';
  const into = (t: string): void => {
    text += t.endsWith('\n') ? t : `${t}\n`;
  };
  printDiagnostics({ out: into, err: into }, loaded.diagnostics, loaded.sources);
  return text;
}

/** reporter records each reload's verdict in the state file, where `gatekit reload` waits for it. */
function reporter(files: ServerFiles | undefined, log: Logger): (v: ReloadVerdict) => void {
  return (v) => {
    try {
      files?.report({ at: v.at, outcome: v.outcome, detail: v.reason ?? renderedDiagnostics(v.loaded) });
    } catch (e) {
      log.warn('cannot write the state file', { file: files!.pidFile, error: (e as Error).message });
    }
  };
}
