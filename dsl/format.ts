import type { Comment, Directive, GateFile } from './ast.js';

const INDENT = '    ';
const MAX_INLINE = 100;

const headOf = (d: Directive): string => [d.name, ...d.args.map((a) => a.raw)].join(' ');

/**
 * Formatter prints a parsed file in canonical layout: one directive per line, four-space
 * indents, single spaces between arguments, at most one blank line (kept where the source
 * had one), comments kept where they stood. A block written on one line stays on one line
 * when it fits and holds no comment. Arguments keep their source text, so the result
 * parses to the same AST.
 */
class Formatter {
  private readonly out: string[] = [];
  private next = 0;
  /** last is the source line of the last item printed in the current block; -1 at a block's start. */
  private last = -1;

  constructor(
    private readonly comments: readonly Comment[],
    private readonly lines: readonly string[],
  ) {}

  file(ds: readonly Directive[]): string {
    this.items(ds, 0);
    this.commentsBefore(Infinity, 0);
    return this.out.length ? `${this.out.join('\n')}\n` : '';
  }

  private items(ds: readonly Directive[], depth: number): void {
    for (const [i, d] of ds.entries()) {
      this.commentsBefore(d.nameSpan.line, depth);
      this.separate(d.nameSpan.line);
      this.directive(d, depth, ds[i + 1]?.nameSpan.line === d.endLine);
      this.last = d.endLine;
    }
  }

  private directive(d: Directive, depth: number, sameLineNext: boolean): void {
    const pad = INDENT.repeat(depth);
    if (!d.block) {
      this.out.push(pad + headOf(d) + this.trailing(d.endLine, sameLineNext));
      return;
    }
    const inline = this.inline(d);
    if (inline !== undefined && pad.length + inline.length <= MAX_INLINE) {
      this.out.push(pad + inline + this.trailing(d.endLine, sameLineNext));
      return;
    }
    const open = d.blockSpan!.line;
    this.out.push(`${pad}${headOf(d)} {${this.trailing(open, d.block[0]?.nameSpan.line === open)}`);
    this.last = -1;
    this.items(d.block, depth + 1);
    this.commentsBefore(d.endLine, depth + 1);
    this.out.push(`${pad}}${this.trailing(d.endLine, sameLineNext)}`);
  }

  /** inline renders a block written on one line with no comment inside, else undefined. */
  private inline(d: Directive): string | undefined {
    if (d.blockSpan!.line !== d.endLine) return undefined;
    const inner = d.block!.map((c) => (c.block ? this.inline(c) : headOf(c)));
    if (inner.some((s) => s === undefined)) return undefined;
    return inner.length ? `${headOf(d)} { ${inner.join('; ')} }` : `${headOf(d)} {}`;
  }

  /** trailing takes the comment at the end of `line`, unless another directive follows on it. */
  private trailing(line: number, sameLineNext: boolean): string {
    const c = this.comments[this.next];
    if (sameLineNext || !c || c.span.line !== line) return '';
    this.next++;
    return `  ${c.text.trimEnd()}`;
  }

  private commentsBefore(line: number, depth: number): void {
    while (this.next < this.comments.length && this.comments[this.next].span.line < line) {
      const c = this.comments[this.next++];
      this.separate(c.span.line);
      this.out.push(INDENT.repeat(depth) + c.text.trimEnd());
      this.last = c.span.line;
    }
  }

  /** separate prints one blank line when the source has one between the last item and `line`. */
  private separate(line: number): void {
    if (this.last < 0) return;
    for (let l = this.last + 1; l < line; l++) {
      if (this.lines[l - 1]?.trim() === '') {
        this.out.push('');
        return;
      }
    }
  }
}

/** formatGate prints a parsed file (with its source text, for blank lines) in canonical layout. */
export function formatGate(file: GateFile, text: string): string {
  const comments = [...file.comments].sort((a, b) => a.span.line - b.span.line || a.span.col - b.span.col);
  return new Formatter(comments, text.split(/\r?\n/)).file(file.directives);
}
