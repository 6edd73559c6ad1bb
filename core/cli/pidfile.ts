import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GateConfig } from '../config.js';

/** pidFileOf is where the master's pid lives: `pid` in global, else gatekit.pid beside the config file. */
export function pidFileOf(file: string, config: GateConfig | undefined): string {
  return config?.global.pid ?? join(dirname(file), 'gatekit.pid');
}

/** writePid records this process's pid; it returns a function that removes the file again. */
export function writePid(path: string): () => void {
  writeFileSync(path, `${process.pid}\n`);
  return () => {
    try { if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path); } catch { /* already gone */ }
  };
}

/** readPid reads a pid file; undefined when missing or malformed. */
export function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch { return undefined; }
}
