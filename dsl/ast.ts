/** Span is a place in a source file: 1-based line and column, length in characters. */
export interface Span {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly len: number;
  /** includedFrom is the `include` or `import` directive that brought this text in. */
  readonly includedFrom?: Span;
}

/** Arg is one argument of a directive as written: a bare word or a quoted string. */
export interface Arg {
  readonly quoted: boolean;
  /** raw is the source text of the token, quotes and escapes included. */
  readonly raw: string;
  /** value is the text after unescaping (and, once expanded, after `${ENV}` substitution). */
  readonly value: string;
  readonly span: Span;
  /** unresolved is set when an `${ENV}` reference in it could not be expanded (already reported). */
  readonly unresolved?: true;
}

/** Comment is a `#` comment kept for the formatter. */
export interface Comment {
  readonly text: string;
  readonly span: Span;
}

/** Directive is a name, its arguments and an optional block of further directives. */
export interface Directive {
  readonly name: string;
  readonly nameSpan: Span;
  readonly args: readonly Arg[];
  readonly block?: readonly Directive[];
  /** blockSpan is the opening `{` of the block, when there is one. */
  readonly blockSpan?: Span;
  /** endLine is the line of the closing `}` (or of the last token when there is no block). */
  readonly endLine: number;
}

/** GateFile is a parsed source file: its directives and, for the formatter, its comments. */
export interface GateFile {
  readonly file: string;
  readonly directives: readonly Directive[];
  readonly comments: readonly Comment[];
}

/** spanAt returns a span inside `span` starting `offset` characters in, `len` long. */
export function spanAt(span: Span, offset: number, len: number): Span {
  return { ...span, col: span.col + offset, len };
}

/** describeSpan renders a span as FILE:LINE:COL. */
export function describeSpan(span: Span): string {
  return `${span.file}:${span.line}:${span.col}`;
}
