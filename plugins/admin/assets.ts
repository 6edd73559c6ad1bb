import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { sourceFile } from '../../lib/index.js';

/** Asset is one file of the dashboard, read once and kept in memory. */
export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const DASHBOARD_DIR = sourceFile(import.meta.url, 'dashboard', join('plugins', 'admin', 'dashboard'));
const require = createRequire(import.meta.url);

/** FILES maps the dashboard's URL paths to their files: its own, and uPlot's from the package (no CDN). */
const FILES: Readonly<Record<string, [string, string]>> = {
  '/': [join(DASHBOARD_DIR, 'index.html'), 'text/html; charset=utf-8'],
  '/dashboard/app.js': [join(DASHBOARD_DIR, 'app.js'), 'text/javascript; charset=utf-8'],
  '/dashboard/style.css': [join(DASHBOARD_DIR, 'style.css'), 'text/css; charset=utf-8'],
  '/dashboard/uPlot.js': [require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
  '/dashboard/uPlot.css': [require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
};

const cache = new Map<string, Asset>();

/** assetAt is the dashboard file served at `path`, or undefined. */
export function assetAt(path: string): Asset | undefined {
  const f = FILES[path];
  if (!f) return undefined;
  let a = cache.get(path);
  if (!a) cache.set(path, (a = { type: f[1], body: readFileSync(f[0]) }));
  return a;
}
