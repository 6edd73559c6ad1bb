import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';

/** VENV_PYTHON is the venv .ci/run makes, with Django, Flask and Gunicorn. */
export const VENV_PYTHON = repoPath('.venv', 'bin', 'python');

/** WSGI_TESTDATA is the folder of the stdlib WSGI test apps. */
export const WSGI_TESTDATA = repoPath('plugins', 'wsgi', 'testdata');

let python3: boolean | undefined;

/** hasPython3 tells whether `python3` runs here (checked once). */
export function hasPython3(): boolean {
  return (python3 ??= spawnSync('python3', ['-c', 'import sys; sys.exit(sys.version_info < (3, 8))']).status === 0);
}

/** hasVenv tells whether the venv with the frameworks exists. */
export function hasVenv(): boolean {
  return existsSync(VENV_PYTHON);
}

/** startWsgiGate serves a config as `gatekit run` does with `workers 0` (startGate runs the Python pools too). */
export const startWsgiGate = startGate;

/** waitForLog resolves with the first captured log line matching `re`, polling every 20 ms for at most `ms`. */
export async function waitForLog(logs: readonly string[], re: RegExp, ms = 5000): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const line = logs.find((l) => re.test(l));
    if (line !== undefined) return line;
    if (Date.now() > until) throw new Error(`no log line matched ${re} within ${ms}ms:\n${logs.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
