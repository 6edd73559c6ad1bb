import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** PKG_DIR is the package root (this file runs from dist/bench/). */
export const PKG_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** GATEKIT_BIN is the built command line. */
export const GATEKIT_BIN = join(PKG_DIR, 'dist', 'bin', 'gatekit.js');
/** BARE_SERVER is the built bare Node peer. */
export const BARE_SERVER = join(PKG_DIR, 'dist', 'bench', 'bare-server.js');
/** RESULTS_FILE is where run.ts writes the results table. */
export const RESULTS_FILE = join(PKG_DIR, 'bench', 'RESULTS.md');

/** CHART_FILE is the SVG chart of the headline ratios. */
export const CHART_FILE = join(PKG_DIR, 'bench', 'ratios.svg');

/** BENCH_APPS holds the Python apps of the app-server scenarios (bench/apps/, run from the source tree). */
export const BENCH_APPS = join(PKG_DIR, 'bench', 'apps');
