import { setTimeout as sleep } from 'node:timers/promises';
import type { DependencyContainer } from 'tsyringe';
import { loadConfig } from '../core/load.js';
import { EXIT, type Io } from './io.js';
import { alive, findServer, pidFileOf, readState, sameFile, stateFileOf, type ReloadOutcome } from './pidfile.js';
import { pickConfigFile } from './run.js';

/** RELOAD_WAIT is how long `gatekit reload` waits for the verdict by default: new workers may take a while to be ready. */
export const RELOAD_WAIT = 60_000;
const POLL_MS = 50;

/**
 * signalCommand sends HUP (reload) or TERM (stop) to the server of a config, found through its
 * pid file, after checking that the pid is a live gatekit serving that very file: a stale or
 * foreign pid gets a message and exit 3, never a signal. `reload` then waits up to `wait` ms for
 * the server's verdict: 0 when the new config serves, 1 (with the diagnostics) when it was refused.
 */
export async function signalCommand(
  what: 'reload' | 'stop',
  fileArg: string | undefined,
  quickstart: string,
  root: DependencyContainer,
  io: Io,
  wait = RELOAD_WAIT,
): Promise<number> {
  const file = pickConfigFile(fileArg, quickstart, io);
  const loaded = await loadConfig(file, { root }); // for its `pid`: readable from a config that has errors elsewhere
  const pidFile = pidFileOf(file, loaded.settings);
  const found = findServer(pidFile);
  if (!('pid' in found)) {
    io.err(`gatekit ${what}: ${found.why}: is gatekit running with ${file}?`);
    return EXIT.runtime;
  }
  const { pid, state } = found;
  if (!sameFile(state.config, file)) {
    io.err(`gatekit ${what}: pid ${pid} (${pidFile}) serves ${state.config}, not ${file}`);
    return EXIT.runtime;
  }
  const sent = Date.now();
  try {
    process.kill(pid, what === 'reload' ? 'SIGHUP' : 'SIGTERM');
  } catch (e) {
    io.err(`gatekit ${what}: cannot signal pid ${pid} (from ${pidFile}): ${(e as Error).message}`);
    return EXIT.runtime;
  }
  if (what === 'stop') {
    io.out(`gatekit stop: sent TERM to ${pid}`);
    return EXIT.ok;
  }
  return verdict(pid, stateFileOf(pidFile), sent, wait, io);
}

/** verdict waits for the state file to tell how a reload asked for at `sent` ended, and says so. */
async function verdict(pid: number, stateFile: string, sent: number, wait: number, io: Io): Promise<number> {
  const deadline = sent + wait;
  for (;;) {
    const r = readState(stateFile)?.reload;
    if (r && r.at >= sent) return tell(r, pid, io);
    if (!alive(pid)) {
      io.err(`gatekit reload: the server (pid ${pid}) exited before it answered the reload`);
      return EXIT.runtime;
    }
    if (Date.now() >= deadline) {
      io.err(
        `gatekit reload: sent HUP to ${pid}, but it gave no verdict within ${wait / 1000}s (new workers may still be starting): its log says how the reload went`,
      );
      return EXIT.runtime;
    }
    await sleep(POLL_MS);
  }
}

function tell(r: ReloadOutcome, pid: number, io: Io): number {
  if (r.detail) io.err(r.detail);
  if (r.outcome === 'reloaded') {
    io.out(`gatekit reload: reloaded (pid ${pid})`);
    return EXIT.ok;
  }
  const why = r.outcome === 'refused' ? 'refused: the config has errors' : 'failed';
  io.err(`gatekit reload: ${why}; pid ${pid} keeps serving the old config`);
  return EXIT.config;
}
