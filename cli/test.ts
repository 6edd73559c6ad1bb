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

/**
 * testCommand runs the expectations of each test file against its config, in-process with no
 * port open: one line per expectation, failures as diagnostics at their checks, a summary;
 * exit 1 when a config has errors or an expectation fails.
 */
export async function testCommand(files: readonly string[], root: DependencyContainer, io: Io): Promise<number> {
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const { config, tests } = pairOf(file);
    if (!existsSync(tests)) { io.err(`gatekit test: no test file ${tests} (write expectations there: expect GET /path { status 200 })`); return EXIT.config; }
    const loaded = await loadConfig(config, { root });
    const diags: Diagnostic[] = [];
    const text = readFileSync(tests, 'utf8');
    loaded.sources.set(tests, text);
    const expectations = readExpectations(text, tests, diags);
    if (printDiagnostics(io, [...loaded.diagnostics, ...diags], loaded.sources) || !loaded.config) return EXIT.config;
    const gate = new OfflineGate(loaded.config, loaded.scope);
    try {
      for (const e of expectations) {
        const wrong = await verdict(gate, e);
        io.out(`${wrong.length ? 'FAIL' : 'ok  '}  ${title(e)}`);
        if (wrong.length) { printDiagnostics(io, wrong, loaded.sources); failed++; } else passed++;
      }
    } finally { await gate.close(); }
  }
  io.out(`${passed} passed, ${failed} failed`);
  return failed ? EXIT.config : EXIT.ok;
}
