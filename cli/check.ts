import { relative } from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { loadConfig } from '../core/load.js';
import { EXIT, printDiagnostics, type Io } from './io.js';

/** checkCommand validates each file and prints every diagnostic; exit 1 when any has an error. */
export async function checkCommand(files: readonly string[], root: DependencyContainer, io: Io): Promise<number> {
  let failed = false;
  for (const file of files) {
    const loaded = await loadConfig(file, { root });
    const errors = printDiagnostics(io, loaded.diagnostics, loaded.sources);
    if (errors) failed = true;
    else io.out(`${relative(process.cwd(), file) || file}: ok`);
  }
  return failed ? EXIT.config : EXIT.ok;
}
