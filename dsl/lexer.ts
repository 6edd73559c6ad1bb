import type { IToken } from 'chevrotain';
import { Lexer } from './chevrotain.js';
import { allTokens, UnterminatedString } from './tokens.js';
import { error, type Diagnostic } from './diagnostics.js';

// Only '\n' ends a line: in a CRLF file the '\r' is whitespace, not a second line break.
const lexer = new Lexer(allTokens, { positionTracking: 'full', lineTerminatorsPattern: /\n/g, lineTerminatorCharacters: ['\n'] });

/** Lexed is a file's tokens, its comments, and the lexical errors found. */
export interface Lexed {
  readonly tokens: IToken[];
  readonly comments: IToken[];
  readonly diagnostics: Diagnostic[];
}

/** lex splits a source text into tokens; unterminated strings and stray characters become diagnostics. */
export function lex(text: string, file: string): Lexed {
  const src = text.replace(/^\uFEFF/, ''); // a byte order mark is not part of the first line
  const result = lexer.tokenize(src);
  const diagnostics: Diagnostic[] = [];
  for (const e of result.errors) {
    const chars = src.slice(e.offset, e.offset + e.length);
    diagnostics.push(
      error(
        'GK_DSL_BAD_CHAR',
        `unexpected character ${describeChars(chars)}`,
        { file, line: e.line ?? 1, col: e.column ?? 1, len: e.length },
        'separate words with plain spaces or tabs, and quote text that holds other spacing',
      ),
    );
  }
  const tokens: IToken[] = [];
  for (const t of result.tokens) {
    if (t.tokenType === UnterminatedString) {
      diagnostics.push(
        error('GK_DSL_UNTERMINATED_STRING', 'unterminated string', span(t, file), "close it with '\"' on the same line (strings may not span lines)"),
      );
      continue;
    }
    tokens.push(t);
  }
  return { tokens, comments: result.groups.comments ?? [], diagnostics };
}

/** describeChars shows characters as written, or as U+XXXX codes when they are invisible or space-like. */
function describeChars(s: string): string {
  if (/^[^\p{Z}\p{C}]+$/u.test(s)) return `'${s}'`;
  return [...s].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
}

/** span is a token's place in its file. */
export function span(t: IToken, file: string): { file: string; line: number; col: number; len: number } {
  return { file, line: t.startLine ?? 1, col: t.startColumn ?? 1, len: t.image.length };
}
