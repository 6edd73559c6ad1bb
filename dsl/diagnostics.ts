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

/** QUOTE_WIDTH is the widest quoted line; a longer one is shown around the culprit. */
const QUOTE_WIDTH = 120;
const ELLIPSIS = '...';

let indexed: { readonly text: string; readonly starts: number[] } | undefined;

/** lineOf returns line `n` (1-based) of a text; the text is indexed once for all the diagnostics that quote it. */
function lineOf(text: string, n: number): string | undefined {
  if (indexed?.text !== text) {
    const starts = [0];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    indexed = { text, starts };
  }
  const { starts } = indexed;
  if (n < 1 || n > starts.length) return undefined;
  return text.slice(starts[n - 1], n < starts.length ? starts[n] - 1 : text.length).replace(/\r$/, '');
}

/** quoteLine cuts a long line to QUOTE_WIDTH characters around column `col`, and says where the caret goes. */
function quoteLine(line: string, col: number): { text: string; col: number; room: number } {
  const shown = line.replace(/\t/g, ' ');
  if (shown.length <= QUOTE_WIDTH) return { text: shown, col, room: shown.length - col + 1 };
  const from = Math.max(0, Math.min(col - 1 - QUOTE_WIDTH / 3, shown.length - QUOTE_WIDTH));
  const to = Math.min(shown.length, from + QUOTE_WIDTH);
  const head = from > 0 ? ELLIPSIS : '';
  return { text: head + shown.slice(from, to) + (to < shown.length ? ELLIPSIS : ''), col: col - from + head.length, room: to - col + 1 };
}

/** renderDiagnostic formats a diagnostic as FILE:LINE:COL, the quoted line, a caret run and help. */
export function renderDiagnostic(d: Diagnostic, source: SourceText): string {
  const { file, line, col } = d.span;
  const message = d.message.length > QUOTE_WIDTH * 2 ? d.message.slice(0, QUOTE_WIDTH * 2) + ELLIPSIS : d.message; // a 1 MB word stays out
  const out = [`${file}:${line}:${col}: ${d.severity}: ${message}`];
  const text = source(file);
  const quoted = text === undefined ? undefined : lineOf(text, line);
  const gutter = ' '.repeat(Math.max(5, String(line).length + 1));
  if (quoted !== undefined) {
    const q = quoteLine(quoted, col);
    const width = Math.max(1, Math.min(d.span.len, q.room));
    out.push(`${String(line).padStart(gutter.length)} | ${q.text}`, `${gutter} | ${' '.repeat(Math.max(0, q.col - 1))}${'^'.repeat(width)}`);
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
