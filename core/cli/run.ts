import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { GateError } from '../errors.js';
import { Gate, type BoundAddress } from '../gate.js';
import { loadConfig, type Loaded } from '../load.js';
import { stderrSink, TextLogger, type Logger } from '../logger.js';
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

async function start(loaded: Loaded, log: Logger): Promise<Gate> {
  const g = loaded.config!.global;
  if (g.workers !== 0) log.warn('prefork workers are not built yet; serving from this single process', { workers: g.workers });
  const gate = await Gate.start(loaded, { logger: log });
  for (const a of gate.addresses()) log.info('listening', { url: urlOf(a), config: loaded.file });
  return gate;
}

/**
 * runCommand serves a config in this process until TERM/INT (graceful) or QUIT (fast).
 * HUP re-reads the config: one that does not check is refused and the old one keeps
 * serving. (Zero-downtime reload with prefork workers is the process model's job.)
 */
export async function runCommand(o: RunOptions): Promise<number> {
  const file = pickConfigFile(o.file, o.quickstart, o.io);
  let loaded = await loadConfig(file, { root: o.root });
  if (!loaded.config) { printDiagnostics(o.io, loaded.diagnostics, loaded.sources); return EXIT.config; }
  const log = new TextLogger(stderrSink, loaded.config.global.logLevel);
  let gate: Gate;
  try { gate = await start(loaded, log); } catch (e) {
    o.io.err(`gatekit: ${e instanceof GateError ? e.message : (e as Error).stack}`);
    return EXIT.runtime;
  }
  let removePid = (): void => {};
  const pidFile = pidFileOf(file, loaded.config);
  try { removePid = writePid(pidFile); } catch (e) { log.warn('cannot write pid file', { file: pidFile, error: (e as Error).message }); }

  return new Promise<number>((done) => {
    let busy = false;
    const stop = async (timeout: number, why: string): Promise<void> => {
      log.info('stopping', { signal: why });
      await gate.close(timeout);
      removePid();
      for (const s of SIGNALS) process.removeListener(s, handlers[s]);
      done(EXIT.ok);
    };
    const reload = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      const next = await loadConfig(file, { root: o.root });
      if (!next.config) {
        log.error('reload refused: the new config has errors; still serving the old one', { config: file });
        for (const d of next.diagnostics) log.error(`${d.span.file}:${d.span.line}:${d.span.col}: ${d.severity}: ${d.message}`, { help: d.help });
      } else {
        await gate.close(loaded.config!.global.gracefulTimeout);
        try { gate = await start(next, log); loaded = next; log.info('reloaded', { config: file }); } catch (e) {
          log.error('reload failed; restoring the old config', { error: (e as Error).message });
          gate = await start(loaded, log);
        }
      }
      busy = false;
    };
    const handlers: Record<string, () => void> = {
      SIGTERM: () => void stop(loaded.config!.global.gracefulTimeout, 'TERM'),
      SIGINT: () => void stop(loaded.config!.global.gracefulTimeout, 'INT'),
      SIGQUIT: () => void stop(0, 'QUIT'),
      SIGHUP: () => void reload(),
      SIGUSR1: () => log.info('USR1: no log files to reopen'),
    };
    const SIGNALS = Object.keys(handlers) as NodeJS.Signals[];
    for (const s of SIGNALS) process.on(s, handlers[s]);
  });
}
