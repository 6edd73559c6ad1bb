import { readFileSync, writeFileSync } from 'node:fs';
import type { Diagnostic } from '../dsl/diagnostics.js';
import { Sources } from '../dsl/expand.js';
import { formatGate } from '../dsl/format.js';
import { parseText } from '../dsl/to-ast.js';
import { EXIT, printDiagnostics, type Io } from './io.js';

/** FmtMode: print the result, rewrite the file, or only report files that need formatting. */
export type FmtMode = 'print' | 'write' | 'check';

/** fmtCommand formats files in canonical layout; a file that does not parse is left alone and reported. */
export function fmtCommand(files: readonly string[], mode: FmtMode, io: Io): number {
  let code: number = EXIT.ok;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      io.err(`gatekit fmt: cannot read ${file}: ${(e as Error).message}`);
      code = EXIT.config;
      continue;
    }
    const diags: Diagnostic[] = [];
    const parsed = parseText(text, file, diags);
    if (diags.length) {
      const sources = new Sources();
      sources.set(file, text);
      printDiagnostics(io, diags, sources);
      code = EXIT.config;
      continue;
    }
    const out = formatGate(parsed, text);
    if (mode === 'print') io.out(out.replace(/\n$/, ''));
    else if (out !== text) {
      if (mode === 'write') writeFileSync(file, out);
      else {
        io.err(`${file}: not formatted`);
        code = EXIT.config;
      }
    }
  }
  return code;
}
