import type { DependencyContainer } from 'tsyringe';
import { loadConfig } from '../load.js';
import { EXIT, type Io } from './io.js';
import { pidFileOf, readPid } from './pidfile.js';
import { pickConfigFile } from './run.js';

/** signalCommand sends HUP (reload) or TERM (stop) to the master named by the config's pid file. */
export async function signalCommand(what: 'reload' | 'stop', fileArg: string | undefined, quickstart: string, root: DependencyContainer, io: Io): Promise<number> {
  const file = pickConfigFile(fileArg, quickstart, io);
  const loaded = await loadConfig(file, { root });
  const pidFile = pidFileOf(file, loaded.config);
  const pid = readPid(pidFile);
  if (pid === undefined) { io.err(`gatekit ${what}: no pid in ${pidFile}: is gatekit running with this config?`); return EXIT.runtime; }
  try {
    process.kill(pid, what === 'reload' ? 'SIGHUP' : 'SIGTERM');
  } catch (e) {
    io.err(`gatekit ${what}: cannot signal pid ${pid} (from ${pidFile}): ${(e as NodeJS.ErrnoException).code === 'ESRCH' ? 'no such process' : (e as Error).message}`);
    return EXIT.runtime;
  }
  io.out(`gatekit ${what}: sent ${what === 'reload' ? 'HUP' : 'TERM'} to ${pid}`);
  return EXIT.ok;
}
