import type { IToken } from 'chevrotain';
import type { Arg, Comment, Directive, GateFile, Span } from './ast.js';
import type { BlockCstChildren, BlockCstNode, DirectiveCstChildren, DirectiveCstNode, FileCstChildren, ICstNodeVisitor } from './cst.js';
import { capDepth } from './depth.js';
import { error, type Diagnostic } from './diagnostics.js';
import { lex, span } from './lexer.js';
import { parser, parseTokens } from './parser.js';
import { StringLit } from './tokens.js';

const BaseVisitor = parser.getBaseCstVisitorConstructor();

/** unescape turns the inside of a quoted string into its value; unknown escapes stay as written (regexes need them). */
export function unescape(inner: string): string {
  return inner.replace(/\\(.)/g, (all, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === '"' || c === '\\' ? c : all));
}

/** argOf builds an argument from its token. */
export function argOf(t: IToken, file: string): Arg {
  const quoted = t.image.startsWith('"');
  return { quoted, raw: t.image, value: quoted ? unescape(t.image.slice(1, -1)) : t.image, span: span(t, file) };
}

class AstBuilder extends BaseVisitor implements ICstNodeVisitor<void, unknown> {
  constructor(
    private readonly path: string,
    private readonly diags: Diagnostic[],
  ) {
    super();
    this.validateVisitor();
  }

  file(c: FileCstChildren): Directive[] {
    for (const t of c.strayClose ?? []) {
      this.diags.push(error('GK_DSL_UNBALANCED', "unexpected '}' with no open block", span(t, this.path), "remove it, or add the '{' it closes"));
    }
    this.strays(c.strayBlock);
    return this.directives(c.directive);
  }

  directive(c: DirectiveCstChildren): Directive | undefined {
    const nameTok = c.name[0];
    if (nameTok.tokenType === StringLit) {
      this.diags.push(
        error(
          'GK_DSL_EXPECTED_NAME',
          `expected a directive name, got the string ${nameTok.image}`,
          span(nameTok, this.path),
          'a directive starts with a bare word; strings are only arguments',
        ),
      );
      if (c.block) this.visit(c.block[0]);
      return undefined;
    }
    const args = (c.arg ?? []).map((t) => argOf(t, this.path));
    const blockCst = c.block?.[0];
    const last = args.length ? args[args.length - 1].span : span(nameTok, this.path);
    const base = { name: nameTok.image, nameSpan: span(nameTok, this.path), args, endLine: last.line };
    if (!blockCst) return base;
    const { block, open, endLine } = this.visit(blockCst) as { block: Directive[]; open: Span; endLine: number };
    return { ...base, block, blockSpan: open, endLine };
  }

  block(c: BlockCstChildren): { block: Directive[]; open: Span; endLine: number } {
    const open = span(c.open[0], this.path);
    const close = c.close?.[0];
    if (!close) {
      this.diags.push(error('GK_DSL_UNBALANCED', "unclosed '{': expected '}' before the end of the file", open, "add the '}' that closes this block"));
    }
    this.strays(c.strayBlock);
    const block = this.directives(c.directive);
    const endLine = close?.startLine ?? (block.length ? block[block.length - 1].endLine : open.line);
    return { block, open, endLine };
  }

  private directives(cst: DirectiveCstNode[] | undefined): Directive[] {
    return (cst ?? []).map((d) => this.visit(d) as Directive | undefined).filter((d) => d !== undefined);
  }

  /** strays reports blocks with no directive before them; their contents are checked for syntax only. */
  private strays(blocks: BlockCstNode[] | undefined): void {
    for (const b of blocks ?? []) {
      this.diags.push(
        error(
          'GK_DSL_EXPECTED_NAME',
          "expected a directive name before '{'",
          span(b.children.open[0], this.path),
          "a block belongs to a directive on the same line: put '{' after its name and arguments",
        ),
      );
      this.visit(b);
    }
  }
}

/** parseText lexes and parses one source text into a GateFile, appending diagnostics; it never throws. */
export function parseText(text: string, file: string, diags: Diagnostic[]): GateFile {
  const lexed = lex(text, file);
  for (const d of lexed.diagnostics) diags.push(d); // a spread of 100k arguments would overflow the stack
  const cst = parseTokens(capDepth(lexed.tokens, file, diags));
  for (const e of parser.errors) {
    // The grammar accepts every token sequence; this is a guard, not a path users should see.
    const prev = (e as { previousToken?: IToken }).previousToken;
    const t = e.token.tokenType.name === 'EOF' && prev ? prev : e.token;
    diags.push(error('GK_DSL_SYNTAX', e.message.toLowerCase(), span(t, file)));
  }
  const directives = new AstBuilder(file, diags).visit(cst) as Directive[];
  const comments: Comment[] = lexed.comments.map((t) => ({ text: t.image, span: span(t, file) }));
  return { file, directives, comments };
}
