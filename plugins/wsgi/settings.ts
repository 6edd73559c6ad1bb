import { join } from 'node:path';
import { poolRunDir, pythonPoolSettings, sourceFile, PYTHON_APP_SPEC, type ProcessInfo, type PythonPoolSettings, type Span } from '../../core/index.js';
import type { WsgiConfig } from './schema.js';

/** PoolSettings are a `wsgi` directive's settings with defaults applied and paths resolved. */
export interface PoolSettings extends PythonPoolSettings {
  readonly threads: number;
}

/** APP_SPEC is what `wsgi MODULE:CALLABLE` accepts (the callable may be dotted: app:server.wsgi). */
export const APP_SPEC = PYTHON_APP_SPEC;

/** poolSettings applies the defaults of a checked config; relative paths start at the .gate file's folder. */
export function poolSettings(cfg: WsgiConfig, at: Span): PoolSettings {
  return { ...pythonPoolSettings(cfg, at), threads: cfg.threads };
}

/** runDir is the folder of one pool's sockets, the same in the master and every worker. */
export function runDir(cfg: WsgiConfig, at: Span, proc: ProcessInfo): string {
  return poolRunDir('wsgi', cfg, at, proc);
}

/** PYTHON_MODULE is gatekit_wsgi.py, the stdlib-only Python side, which gatekit_pool.py's workers load. */
export const PYTHON_MODULE = sourceFile(import.meta.url, join('python', 'gatekit_wsgi.py'), join('plugins', 'wsgi', 'python', 'gatekit_wsgi.py'));
