import { join } from 'node:path';
import type { Span } from '../../core/index.js';
import { pythonPoolSettings, sourceFile, type PythonPoolSettings } from '../../lib/index.js';
import type { WsgiConfig } from './schema.js';

/** PoolSettings are a `wsgi` directive's settings with defaults applied and paths resolved. */
export interface PoolSettings extends PythonPoolSettings {
  readonly threads: number;
}

/** poolSettings applies the defaults of a checked config; relative paths start at the .gate file's folder. */
export function poolSettings(cfg: WsgiConfig, at: Span): PoolSettings {
  return { ...pythonPoolSettings(cfg, at), threads: cfg.threads };
}

/** PYTHON_MODULE is gatekit_wsgi.py, the stdlib-only Python side, which gatekit_pool.py's workers load. */
export const PYTHON_MODULE = sourceFile(import.meta.url, join('python', 'gatekit_wsgi.py'), join('plugins', 'wsgi', 'python', 'gatekit_wsgi.py'));
