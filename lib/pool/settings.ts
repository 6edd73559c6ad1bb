import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Span } from '../../core/index.js';

/**
 * PythonPoolConfig is the part of a checked directive config every Python pool shares
 * (`wsgi`, `asgi`): `MODULE:CALLABLE` and the options workers, python, chdir, env,
 * pythonpath, max_requests and timeout.
 */
export interface PythonPoolConfig {
  readonly app: string;
  readonly workers: number;
  readonly python: string;
  readonly chdir: string;
  readonly env?: readonly { readonly name: string; readonly value: string }[];
  readonly pythonpath?: readonly string[];
  readonly max_requests: number;
  /** timeout is in ms. */
  readonly timeout: number;
}

/** PythonPoolSettings are a PythonPoolConfig with paths resolved and the environment made. */
export interface PythonPoolSettings {
  readonly app: string;
  readonly workers: number;
  readonly python: string;
  readonly chdir: string;
  /** env is the whole environment of the Python processes. */
  readonly env: Readonly<Record<string, string>>;
  readonly maxRequests: number;
  /** timeout is in ms. */
  readonly timeout: number;
}

/** PYTHON_APP_SPEC is what `MODULE:CALLABLE` accepts (the callable may be dotted: app:server.wsgi). */
export const PYTHON_APP_SPEC = /^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$/;

/** INHERITED are the variables of gatekit's own environment the Python processes get. */
const INHERITED = ['PATH', 'HOME', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'USER', 'LOGNAME'];

/** pythonPoolSettings reads a checked config; relative paths start at the .gate file's folder, and so does the default chdir. */
export function pythonPoolSettings(cfg: PythonPoolConfig, at: Span): PythonPoolSettings {
  const base = resolve(dirname(at.file));
  const python = cfg.python;
  const env: Record<string, string> = {};
  for (const k of INHERITED) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  if (cfg.pythonpath?.length) env.PYTHONPATH = cfg.pythonpath.join(':');
  for (const e of cfg.env ?? []) env[e.name] = e.value;
  return {
    app: cfg.app,
    workers: cfg.workers,
    python: python.includes('/') && !isAbsolute(python) ? resolve(base, python) : python,
    chdir: cfg.chdir,
    env,
    maxRequests: cfg.max_requests,
    timeout: cfg.timeout,
  };
}

/**
 * poolRunDir is the folder of one pool's sockets (`KIND-HASH` in the generation's run folder,
 * `runDir`). The master and every Node worker derive it alike, from the directive's place
 * and settings.
 */
export function poolRunDir(kind: string, cfg: unknown, at: Span, runDir: string): string {
  const key = `${at.file}:${at.line}:${at.col}\0${JSON.stringify(cfg)}`;
  return join(runDir, `${kind}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`);
}

/**
 * sourceFile finds a non-TypeScript file of the source tree (a .py module) from a compiled
 * module: tsc does not copy such files, so it is looked up beside the module first, then at
 * `fromRoot` (a path from the package root) in the tree that holds dist/.
 */
export function sourceFile(importMetaUrl: string, beside: string, fromRoot: string): string {
  const here = dirname(fileURLToPath(importMetaUrl));
  const near = join(here, beside);
  if (existsSync(near)) return near;
  let dir = here;
  while (dirname(dir) !== dir && !existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  if (existsSync(join(dir, fromRoot))) return join(dir, fromRoot);
  return join(dirname(dir), fromRoot); // dist/ has a package.json of its own in some layouts
}

/**
 * POOL_PYTHON is gatekit_pool.py, the stdlib-only Python side of every pool: the keeper,
 * and the worker launcher that loads a plugin's Python module (see PythonPool).
 */
export const POOL_PYTHON = sourceFile(import.meta.url, join('..', 'python', 'gatekit_pool.py'), join('lib', 'python', 'gatekit_pool.py'));
