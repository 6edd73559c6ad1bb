import type { IToken } from 'chevrotain';
import { Lexer } from './chevrotain.js';
import { allTokens, UnterminatedString } from './tokens.js';
import { error, type Diagnostic } from './diagnostics.js';

const lexer = new Lexer(allTokens, { positionTracking: 'full' });

/** Lexed is a file's tokens, its comments, and the lexical errors found. */
export interface Lexed {
  readonly tokens: IToken[];
  readonly comments: IToken[];
  readonly diagnostics: Diagnostic[];
}

/** lex splits a source text into tokens; unterminated strings and stray characters become diagnostics. */
export function lex(text: string, file: string): Lexed {
  const result = lexer.tokenize(text);
  const diagnostics: Diagnostic[] = [];
  for (const e of result.errors) {
    const ch = text.substr(e.offset, e.length);
    diagnostics.push(error('GK_DSL_BAD_CHAR', `unexpected character '${ch}'`, { file, line: e.line ?? 1, col: e.column ?? 1, len: e.length }));
  }
  const tokens: IToken[] = [];
  for (const t of result.tokens) {
    if (t.tokenType === UnterminatedString) {
      diagnostics.push(error('GK_DSL_UNTERMINATED_STRING', 'unterminated string', span(t, file),
        'close it with \'"\' on the same line (strings may not span lines)'));
      continue;
    }
    tokens.push(t);
  }
  return { tokens, comments: result.groups.comments ?? [], diagnostics };
}

/** span is a token's place in its file. */
export function span(t: IToken, file: string): { file: string; line: number; col: number; len: number } {
  return { file, line: t.startLine ?? 1, col: t.startColumn ?? 1, len: t.image.length };
}
