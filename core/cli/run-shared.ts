import type { BoundAddress, Gate } from '../gate.js';
import type { Loaded } from '../load.js';
import type { LogTarget } from '../log-target.js';
import type { Logger } from '../logger.js';
import type { ReloadVerdict } from '../process/master.js';
import { printDiagnostics } from './io.js';
import { pidFileOf, ServerFiles } from './pidfile.js';

// What serving in one process (workers 0) and as a master share.

/** Serving is what `gatekit run` opened before it serves: the error log and the pid and state files. */
export interface Serving {
  readonly target: LogTarget;
  readonly log: Logger;
  /** files are absent when they could not be written (a warning: reload and stop cannot find the server). */
  readonly files?: ServerFiles;
  /** report records how a reload ended, where `gatekit reload` waits for it. */
  readonly report: (v: ReloadVerdict) => void;
}

/** onSignals installs signal handlers and returns the function that removes them. */
export function onSignals(handlers: Partial<Record<NodeJS.Signals, () => void>>): () => void {
  const entries = Object.entries(handlers) as [NodeJS.Signals, () => void][];
  for (const [s, h] of entries) process.on(s, h);
  return () => { for (const [s, h] of entries) process.removeListener(s, h); };
}

function urlOf(a: BoundAddress): string {
  if (a.path) return `unix:${a.path}`;
  const host = a.host === '::' || a.host === '0.0.0.0' ? '127.0.0.1' : a.host?.includes(':') ? `[${a.host}]` : a.host;
  return `${a.tls ? 'https' : 'http'}://${host}:${a.port}`;
}

/** logListening writes one line per address a gate listens on. */
export function logListening(gate: Gate, log: Logger, file: string): void {
  for (const a of gate.addresses()) log.info('listening', { url: urlOf(a), config: file });
}

/**
 * claimFiles writes the pid and state files before anything listens, so `gatekit stop` works
 * from the first moment a client can connect. It returns why not when a live gatekit holds the
 * pid file; files that cannot be written are only a warning.
 */
export function claimFiles(file: string, loaded: Loaded, log: Logger): { readonly files?: ServerFiles } | { readonly busy: string } {
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
  const into = (t: string): void => { text += t.endsWith('\n') ? t : `${t}\n`; };
  printDiagnostics({ out: into, err: into }, loaded.diagnostics, loaded.sources);
  return text;
}

/** reporter records each reload's verdict in the state file. */
export function reporter(files: ServerFiles | undefined, log: Logger): (v: ReloadVerdict) => void {
  return (v) => {
    try { files?.report({ at: v.at, outcome: v.outcome, detail: v.reason ?? renderedDiagnostics(v.loaded) }); } catch (e) {
      log.warn('cannot write the state file', { file: files!.pidFile, error: (e as Error).message });
    }
  };
}
