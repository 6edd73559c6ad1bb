import type { Span } from './ast.js';

/** Severity of a diagnostic: errors stop a config from loading, warnings do not. */
export type Severity = 'error' | 'warning';

/** Diagnostic is one problem found while loading a config, with where it is and what to do. */
export interface Diagnostic {
  /** code is stable ('GK_DSL_UNKNOWN_DIRECTIVE'): tests and tools assert on it. */
  readonly code: string;
  readonly severity: Severity;
  /** message is lowercase, without a final period, and names the culprit in single quotes. */
  readonly message: string;
  readonly span: Span;
  readonly help?: string;
}

/** error builds an error diagnostic. */
export function error(code: string, message: string, span: Span, help?: string): Diagnostic {
  return help === undefined ? { code, severity: 'error', message, span } : { code, severity: 'error', message, span, help };
}

/** warning builds a warning diagnostic: worth telling, but the config still loads. */
export function warning(code: string, message: string, span: Span, help?: string): Diagnostic {
  return { ...error(code, message, span, help), severity: 'warning' };
}

/** hasErrors tells whether any diagnostic in the list is an error. */
export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** SourceText looks up the text of a file, to quote the offending line. */
export type SourceText = (file: string) => string | undefined;

/** renderDiagnostic formats a diagnostic as FILE:LINE:COL, the quoted line, a caret run and help. */
export function renderDiagnostic(d: Diagnostic, source: SourceText): string {
  const { file, line, col } = d.span;
  const out = [`${file}:${line}:${col}: ${d.severity}: ${d.message}`];
  const text = source(file)?.split(/\r?\n/)[line - 1];
  const gutter = ' '.repeat(Math.max(5, String(line).length + 1));
  if (text !== undefined) {
    const shown = text.replace(/\t/g, ' ');
    const width = Math.max(1, Math.min(d.span.len, shown.length - col + 1));
    out.push(`${String(line).padStart(gutter.length)} | ${shown}`, `${gutter} | ${' '.repeat(col - 1)}${'^'.repeat(width)}`);
  }
  for (let from = d.span.includedFrom; from; from = from.includedFrom) {
    out.push(`${gutter} = note: included from ${from.file}:${from.line}:${from.col}`);
  }
  if (d.help) out.push(`${gutter} = help: ${d.help}`);
  return out.join('\n');
}

/** editDistance is the Levenshtein distance between two words. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** didYouMean suggests the closest known name, when one is close enough to be a typo. */
export function didYouMean(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let max = Math.max(2, Math.floor(word.length / 3));
  for (const k of known) {
    const d = editDistance(word, k);
    if (d <= max) [best, max] = [k, d - 1];
  }
  return best && `did you mean '${best}'?`;
}
