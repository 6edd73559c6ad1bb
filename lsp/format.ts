import type { TextEdit } from 'vscode-languageserver/node';
import type { Diagnostic } from '../dsl/diagnostics.js';
import { formatGate } from '../dsl/format.js';
import { parseText } from '../dsl/to-ast.js';

/** formatEdits formats a text as `gatekit fmt` does: one edit replacing it all, none when it is formatted or does not parse. */
export function formatEdits(text: string, file: string): TextEdit[] {
  const diags: Diagnostic[] = [];
  const parsed = parseText(text, file, diags);
  if (diags.length) return []; // as gatekit fmt, a file that does not parse is left alone
  const out = formatGate(parsed, text);
  if (out === text) return [];
  const lines = text.split('\n');
  return [{ range: { start: { line: 0, character: 0 }, end: { line: lines.length - 1, character: lines.at(-1)!.length } }, newText: out }];
}
