import type { IToken } from 'chevrotain';
import type { Span } from './ast.js';
import { error, type Diagnostic } from './diagnostics.js';
import { span } from './lexer.js';
import { LCurly, RCurly } from './tokens.js';

// The parser, the AST visitor, expansion and the checker all recurse once per block level, so
// a file nested thousands deep (by mistake or on purpose) would overflow the stack. Real
// configs use a handful of levels; past MAX_DEPTH a block is reported and its contents dropped.

/** MAX_DEPTH is how deep blocks may nest, counting levels brought in by include and import. */
export const MAX_DEPTH = 100;

/** tooDeep is the diagnostic at the '{' of a block that opens level MAX_DEPTH + 1. */
export function tooDeep(at: Span): Diagnostic {
  return error(
    'GK_DSL_TOO_DEEP',
    `blocks nest more than ${MAX_DEPTH} deep`,
    at,
    "a config needs a few levels: look for a missing '}', or an include or snippet that brings in more of itself",
  );
}

/**
 * capDepth returns the tokens with the inside of every block deeper than MAX_DEPTH left out
 * (its braces are kept, so the directive still has its block), reporting each such block.
 */
export function capDepth(tokens: IToken[], file: string, diags: Diagnostic[]): IToken[] {
  let depth = 0;
  let out: IToken[] | undefined; // copied only when something is left out
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.tokenType === LCurly && depth === MAX_DEPTH) {
      diags.push(tooDeep(span(t, file)));
      out ??= tokens.slice(0, i);
      out.push(t);
      let open = 1;
      while (++i < tokens.length && open > 0) {
        if (tokens[i].tokenType === LCurly) open++;
        else if (tokens[i].tokenType === RCurly) open--;
      }
      if (open === 0) out.push(tokens[--i]); // its own '}'
      continue;
    }
    if (t.tokenType === LCurly) depth++;
    else if (t.tokenType === RCurly && depth > 0) depth--;
    out?.push(t);
  }
  return out ?? tokens;
}
