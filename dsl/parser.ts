import type { CstNode, IToken } from 'chevrotain';
import { CstParser } from './chevrotain.js';
import { allTokens, LCurly, Newline, RCurly, Semi, Value } from './tokens.js';

/**
 * GateParser is the generic grammar of .gate files; it knows no directive names.
 *
 *   file      = (directive | TERM | block | '}')*         stray blocks and braces are kept for to-ast to report
 *   directive = (Word | String) (Word | String)* block?   a string name is kept for to-ast to report
 *   block     = '{' (directive | TERM | block)* '}'?       a missing '}' is reported by to-ast at its '{'
 *
 * The grammar accepts every token sequence, so all diagnostics come from one place
 * (to-ast) with exact positions and messages written for people.
 */
export class GateParser extends CstParser {
  constructor() {
    super(allTokens, { recoveryEnabled: true, nodeLocationTracking: 'none' });
    this.performSelfAnalysis();
  }

  public file = this.RULE('file', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.directive) },
        { ALT: () => this.CONSUME(Newline) },
        { ALT: () => this.CONSUME(Semi) },
        { ALT: () => this.SUBRULE(this.block, { LABEL: 'strayBlock' }) },
        { ALT: () => this.CONSUME(RCurly, { LABEL: 'strayClose' }) },
      ]);
    });
  });

  public directive = this.RULE('directive', () => {
    this.CONSUME(Value, { LABEL: 'name' });
    this.MANY(() => this.CONSUME2(Value, { LABEL: 'arg' }));
    this.OPTION(() => this.SUBRULE(this.block));
  });

  public block = this.RULE('block', () => {
    this.CONSUME(LCurly, { LABEL: 'open' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.directive) },
        { ALT: () => this.CONSUME(Newline) },
        { ALT: () => this.CONSUME(Semi) },
        { ALT: () => this.SUBRULE2(this.block, { LABEL: 'strayBlock' }) },
      ]);
    });
    this.OPTION(() => this.CONSUME(RCurly, { LABEL: 'close' }));
  });
}

/** parser is the one reused instance (chevrotain resets it on each `input`). */
export const parser = new GateParser();

/** parseTokens runs the grammar over a token vector and returns the CST. */
export function parseTokens(tokens: IToken[]): CstNode {
  parser.input = tokens;
  return parser.file();
}
