import type { TokenType } from 'chevrotain';
import { createToken, Lexer } from './chevrotain.js';

// The lexer knows no directive names: it only splits words, strings, braces and terminators.

/** WhiteSpace is spaces and tabs; newlines are significant and have their own token. */
export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\f\v\r]+/, group: Lexer.SKIPPED });
/** Comment runs from `#` to the end of the line; kept in a group for the formatter. */
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, group: 'comments' });
/** Newline ends a directive. */
export const Newline = createToken({ name: 'Newline', pattern: /\n/, line_breaks: true });
/** Semi ends a directive. */
export const Semi = createToken({ name: 'Semi', pattern: /;/ });
/** LCurly opens a block. */
export const LCurly = createToken({ name: 'LCurly', pattern: /\{/ });
/** RCurly closes a block. */
export const RCurly = createToken({ name: 'RCurly', pattern: /\}/ });
/** Value is the category of words and strings: what a directive name or argument may be. */
export const Value = createToken({ name: 'Value', pattern: Lexer.NA });
/** String is a double-quoted string on one line, with escapes \" \\ \n \t (and `\$` for a literal dollar). */
export const StringLit = createToken({ name: 'StringLit', pattern: /"(?:[^"\\\n]|\\[^\n])*"/, categories: [Value] });
/** UnterminatedString is a quote with no closing quote on its line: lexed so it can be reported well. */
export const UnterminatedString = createToken({ name: 'UnterminatedString', pattern: /"(?:[^"\\\n]|\\[^\n])*\\?/ });
/** Word is a run of non-space characters other than { } ; " #, where `${...}` may stand inside. */
export const Word = createToken({ name: 'Word', pattern: /(?:[^\s{};"#$]|\$\{[^}\s"{;#]*\}?|\$)+/, categories: [Value] });

/** allTokens lists the token types in matching order. */
export const allTokens: TokenType[] = [WhiteSpace, Comment, Newline, Semi, LCurly, RCurly, Value, StringLit, UnterminatedString, Word];
