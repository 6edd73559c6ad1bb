import { existsSync, readFileSync } from 'node:fs';
import type { DependencyContainer } from 'tsyringe';
import { readExpectations } from '../configtest/expectations.js';
import { OfflineGate } from '../configtest/offline-gate.js';
import { title, verdict } from '../configtest/run.js';
import type { Diagnostic } from '../dsl/diagnostics.js';
import { loadConfig } from '../core/load.js';
import { EXIT, printDiagnostics, type Io } from './io.js';

/** pairOf pairs a test file with its config: `site.gate.test` tests `site.gate`; given `site.gate`, its `.test` beside it. */
function pairOf(file: string): { config: string; tests: string } {
  return file.endsWith('.test') ? { config: file.slice(0, -'.test'.length), tests: file } : { config: file, tests: `${file}.test` };
}

/** Tally counts expectations that passed and failed, and files that could not run. */
interface Tally {
  passed: number;
  failed: number;
  broken: number;
}

/**
 * testCommand runs the expectations of each test file against its config, in-process with no
 * port open: one line per expectation, failures as diagnostics at their checks, a summary;
 * exit 1 when a config or test file has errors or an expectation fails. A file that cannot
 * run does not stop the others.
 */
export async function testCommand(files: readonly string[], root: DependencyContainer, io: Io): Promise<number> {
  const tally: Tally = { passed: 0, failed: 0, broken: 0 };
  for (const file of files) await testFile(file, root, io, tally);
  io.out(`${tally.passed} passed, ${tally.failed} failed${tally.broken ? `, ${tally.broken} file${tally.broken === 1 ? '' : 's'} with errors` : ''}`);
  return tally.failed || tally.broken ? EXIT.config : EXIT.ok;
}

async function testFile(file: string, root: DependencyContainer, io: Io, tally: Tally): Promise<void> {
  const { config, tests } = pairOf(file);
  if (!existsSync(tests)) {
    io.err(`gatekit test: no test file ${tests} (write expectations there: expect GET /path { status 200 })`);
    tally.broken++;
    return;
  }
  const loaded = await loadConfig(config, { root });
  const diags: Diagnostic[] = [];
  const text = readFileSync(tests, 'utf8');
  loaded.sources.set(tests, text);
  const expectations = readExpectations(text, tests, diags);
  if (printDiagnostics(io, [...loaded.diagnostics, ...diags], loaded.sources) || !loaded.config) {
    tally.broken++;
    return;
  }
  const gate = new OfflineGate(loaded.config, loaded.scope);
  try {
    for (const e of expectations) {
      const wrong = await verdict(gate, e);
      io.out(`${wrong.length ? 'FAIL' : 'ok  '}  ${title(e)}`);
      if (wrong.length) {
        printDiagnostics(io, wrong, loaded.sources);
        tally.failed++;
      } else tally.passed++;
    }
  } finally {
    await gate.close();
  }
}
