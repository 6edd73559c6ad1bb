import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** REPO is the repository root (tests run from dist/, sources and samples stay at the root). */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** repoPath joins a path inside the repository. */
export function repoPath(...parts: string[]): string {
  return join(REPO, ...parts);
}

/** GATEKIT is the built CLI entry point. */
export const GATEKIT = repoPath('dist', 'bin', 'gatekit.js');
