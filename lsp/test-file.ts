import type { Diagnostic as LspDiagnostic } from 'vscode-languageserver/node';
import { readExpectations } from '../configtest/expectations.js';
import type { Diagnostic } from '../dsl/diagnostics.js';
import { toLsp } from './diagnostics.js';

/** isTestFile tells a `gatekit test` file (`site.gate.test`) from a config. */
export const isTestFile = (path: string): boolean => path.endsWith('.test');

/** testFileDiagnostics reads a test file as `gatekit test` does and returns its mistakes; running it is `gatekit test`'s job. */
export function testFileDiagnostics(text: string, path: string): LspDiagnostic[] {
  const diags: Diagnostic[] = [];
  readExpectations(text, path, diags);
  return diags.map(toLsp);
}
