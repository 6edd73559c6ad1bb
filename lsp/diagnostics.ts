import { DiagnosticSeverity, type Diagnostic as LspDiagnostic, type Range } from 'vscode-languageserver/node';
import type { Span } from '../dsl/ast.js';
import type { Diagnostic } from '../dsl/diagnostics.js';

/** rangeOf turns a span (1-based line and column) into an LSP range (0-based). */
export function rangeOf(s: Pick<Span, 'line' | 'col' | 'len'>): Range {
  const start = { line: s.line - 1, character: s.col - 1 };
  return { start, end: { line: start.line, character: start.character + Math.max(s.len, 1) } };
}

/** toLsp renders a gatekit diagnostic for an editor: its message, its help on a second line, its code. */
export function toLsp(d: Diagnostic): LspDiagnostic {
  return {
    range: rangeOf(d.span),
    severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: 'gatekit',
    message: d.help ? `${d.message}\n${d.help}` : d.message,
  };
}

/**
 * byFile groups diagnostics by the file they are in, with every file read given an entry (so
 * that fixed files are cleared); a problem inside an included file is also shown on the
 * `include` line of `root`, as `gatekit check` names where it was included from.
 */
export function byFile(root: string, diags: readonly Diagnostic[], files: readonly string[]): Map<string, LspDiagnostic[]> {
  const out = new Map<string, LspDiagnostic[]>(files.map((f) => [f, []]));
  out.set(root, out.get(root) ?? []);
  for (const d of diags) {
    const list = out.get(d.span.file) ?? [];
    out.set(d.span.file, list);
    list.push(toLsp(d));
    const from = outermost(d.span);
    if (d.span.file !== root && from?.file === root) {
      out.get(root)!.push({ ...toLsp(d), range: rangeOf(from), message: `in ${d.span.file}:${d.span.line}:${d.span.col}: ${d.message}` });
    }
  }
  return out;
}

function outermost(s: Span): Span | undefined {
  let from = s.includedFrom;
  while (from?.includedFrom) from = from.includedFrom;
  return from;
}
