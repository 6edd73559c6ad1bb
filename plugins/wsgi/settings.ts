import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessInfo, Span } from '../../core/index.js';
import type { WsgiConfig } from './schema.js';

/** PoolSettings are a `wsgi` directive's settings with defaults applied and paths resolved. */
export interface PoolSettings {
  readonly app: string;
  readonly workers: number;
  readonly threads: number;
  readonly python: string;
  readonly chdir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly maxRequests: number;
  /** timeout is in ms. */
  readonly timeout: number;
}

/** APP_SPEC is what `wsgi MODULE:CALLABLE` accepts (the callable may be dotted: app:server.wsgi). */
export const APP_SPEC = /^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$/;

/** INHERITED are the variables of gatekit's own environment the Python processes get. */
const INHERITED = ['PATH', 'HOME', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'USER', 'LOGNAME'];

/** poolSettings applies the defaults of a checked config; relative paths start at the .gate file's folder. */
export function poolSettings(cfg: WsgiConfig, at: Span): PoolSettings {
  const base = resolve(dirname(at.file));
  const python = cfg.python ?? 'python3';
  const env: Record<string, string> = {};
  for (const k of INHERITED) { const v = process.env[k]; if (v !== undefined) env[k] = v; }
  if (cfg.pythonpath?.length) env.PYTHONPATH = cfg.pythonpath.join(':');
  for (const e of cfg.env ?? []) env[e.name] = e.value;
  return {
    app: cfg.app,
    workers: cfg.workers ?? 1,
    threads: cfg.threads ?? 1,
    python: python.includes('/') && !isAbsolute(python) ? resolve(base, python) : python,
    chdir: cfg.chdir ?? base,
    env,
    maxRequests: cfg.max_requests ?? 0,
    timeout: cfg.timeout ?? 30_000,
  };
}

/**
 * runDir is the folder of one pool's sockets. The master and every worker derive it alike,
 * from the master's pid, the config generation, and the directive's place and settings.
 */
export function runDir(cfg: WsgiConfig, at: Span, proc: ProcessInfo): string {
  const masterPid = proc.role === 'worker' ? process.ppid : process.pid;
  const key = `${masterPid}\0${proc.generation}\0${at.file}:${at.line}:${at.col}\0${JSON.stringify(cfg)}`;
  return join(tmpdir(), `gatekit-wsgi-${createHash('sha256').update(key).digest('hex').slice(0, 20)}`);
}

/**
 * PYTHON_MODULE is gatekit_wsgi.py, the stdlib-only Python side. tsc does not copy .py
 * files, so it is read from the source tree beside dist/ unless a copy sits next to this file.
 */
export const PYTHON_MODULE = ((): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'python', 'gatekit_wsgi.py');
  return existsSync(beside) ? beside : join(here, '..', '..', '..', 'plugins', 'wsgi', 'python', 'gatekit_wsgi.py');
})();
