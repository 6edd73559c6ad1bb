import type { IToken } from 'chevrotain';
import { lex } from '../dsl/lexer.js';
import { LCurly, Newline, RCurly, Semi } from '../dsl/tokens.js';

/** Place is where a cursor stands in a .gate text, read from its tokens (so half-typed text works). */
export interface Place {
  /** path names the directives whose blocks enclose the cursor, outermost first. */
  readonly path: readonly string[];
  /** before are the words of the cursor's directive that end before the word at the cursor. */
  readonly before: readonly IToken[];
  /** token is the word or string the cursor is in or at the end of, if any. */
  readonly token?: IToken;
}

/** offsetAt turns a 0-based line and character into an offset in `text`. */
export function offsetAt(text: string, line: number, character: number): number {
  let offset = 0;
  for (let l = 0; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  return offset + character;
}

/**
 * placeAt walks the tokens before `offset`, keeping the stack of open blocks and the words of
 * the directive being written; a `}` closes the innermost block, `;` and newlines end a directive.
 */
export function placeAt(text: string, offset: number): Place {
  const path: string[] = [];
  let words: IToken[] = [];
  for (const t of lex(text, '').tokens) {
    if (t.startOffset >= offset) break;
    const end = t.endOffset! + 1;
    if (t.tokenType === LCurly) {
      path.push(words[0]?.image ?? '');
      words = [];
    } else if (t.tokenType === RCurly) {
      path.pop();
      words = [];
    } else if (t.tokenType === Semi || t.tokenType === Newline) words = [];
    else if (end >= offset) return { path, before: words, token: t };
    else words.push(t);
  }
  return { path, before: words };
}
