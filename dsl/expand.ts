import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Directive, GateFile, Span } from './ast.js';
import { MAX_DEPTH, tooDeep } from './depth.js';
import { didYouMean, error, type Diagnostic } from './diagnostics.js';
import { expandEnvArg, type Env } from './env.js';
import { expandGlob, hasGlob } from './glob.js';
import { parseText } from './to-ast.js';

/** Sources remembers the text of every file read, to quote lines in diagnostics. */
export class Sources {
  private readonly texts = new Map<string, string>();
  /** set records a file's text. */
  set(file: string, text: string): void {
    this.texts.set(file, text);
  }
  /** get returns a file's text, if it was read. */
  get(file: string): string | undefined {
    return this.texts.get(file);
  }
  /** files lists every file read, in order. */
  files(): string[] {
    return [...this.texts.keys()];
  }
}

/** ExpandOptions are the inputs of expansion besides the AST. */
export interface ExpandOptions {
  readonly env: Env;
  readonly sources: Sources;
  readonly diags: Diagnostic[];
  /** readFile reads an included file; defaults to the file system. */
  readonly readFile?: (path: string) => string;
}

function relocate(ds: readonly Directive[], from: Span): Directive[] {
  const at = (s: Span): Span => ({ ...s, includedFrom: from });
  return ds.map((d) => ({
    ...d,
    nameSpan: at(d.nameSpan),
    args: d.args.map((a) => ({ ...a, span: at(a.span) })),
    ...(d.block ? { block: relocate(d.block, from), blockSpan: at(d.blockSpan!) } : {}),
  }));
}

/**
 * markIncluded sets `includedFrom` on every span of a file just parsed for an include. It
 * writes in place: those spans are fresh and shared with nothing, and a 5,000-directive
 * config would otherwise copy every span once per level of include.
 */
function markIncluded(ds: readonly Directive[], from: Span): readonly Directive[] {
  const mark = (s: Span): void => {
    (s as { includedFrom?: Span }).includedFrom = from;
  };
  for (const d of ds) {
    mark(d.nameSpan);
    for (const a of d.args) mark(a.span);
    if (d.blockSpan) mark(d.blockSpan);
    if (d.block) markIncluded(d.block, from);
  }
  return ds;
}

/**
 * Expander splices `include` files, collects top-level `snippet`s, replaces `import`s by
 * their snippet, and substitutes `${ENV}` references. It reports problems and never throws.
 */
class Expander {
  private readonly snippets = new Map<string, Directive>();
  private readonly read: (path: string) => string;

  constructor(private readonly o: ExpandOptions) {
    this.read = o.readFile ?? ((p) => readFileSync(p, 'utf8'));
  }

  /** parseFile reads and parses one file, recording its text. */
  parseFile(path: string): GateFile {
    const text = this.read(path);
    this.o.sources.set(path, text);
    return parseText(text, path, this.o.diags);
  }

  /**
   * inner expands the block of a directive that stands `depth` blocks deep; a block that would
   * nest past MAX_DEPTH (brought there by include or import) is reported and left empty.
   */
  private inner(d: Directive, depth: number, expand: (block: readonly Directive[]) => Directive[]): Directive[] {
    if (depth < MAX_DEPTH) return expand(d.block!);
    if (d.block!.length) this.o.diags.push(tooDeep(d.blockSpan!));
    return [];
  }

  includes(ds: readonly Directive[], stack: readonly string[], depth: number): Directive[] {
    const out: Directive[] = [];
    for (const d of ds) {
      if (d.name !== 'include') {
        out.push(d.block ? { ...d, block: this.inner(d, depth, (b) => this.includes(b, stack, depth + 1)) } : d);
        continue;
      }
      if (d.args.length === 0) this.o.diags.push(error('GK_DSL_MISSING_ARG', "missing argument PATH for 'include'", d.nameSpan, 'usage: include FILE-OR-GLOB'));
      if (d.block) this.o.diags.push(error('GK_DSL_UNEXPECTED_BLOCK', "'include' takes no block", d.blockSpan!));
      for (const a of d.args) for (const x of this.includeOne(a.value, a.span, stack, depth)) out.push(x); // no spread: a file may hold 100k directives
    }
    return out;
  }

  private includeOne(pattern: string, at: Span, stack: readonly string[], depth: number): Directive[] {
    if (stack.length > MAX_DEPTH) {
      this.o.diags.push(error('GK_DSL_TOO_DEEP', `includes nest more than ${MAX_DEPTH} deep`, at, `${stack[0]} -> ... -> ${stack[stack.length - 1]}`));
      return [];
    }
    const base = dirname(at.file);
    const files = hasGlob(pattern) ? expandGlob(pattern, base) : [resolve(base, pattern)];
    const out: Directive[] = [];
    for (const file of files) {
      if (stack.includes(file)) {
        const chain = [...stack.slice(stack.indexOf(file)), file].join(' -> ');
        this.o.diags.push(error('GK_DSL_INCLUDE_CYCLE', `include cycle: '${pattern}' is already being included`, at, chain));
        continue;
      }
      let parsed: GateFile;
      const from = this.o.diags.length;
      try {
        parsed = this.parseFile(file);
      } catch (e) {
        this.o.diags.push(
          error(
            'GK_DSL_INCLUDE_MISSING',
            `cannot read included file '${pattern}'`,
            at,
            `${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}: ${file}`,
          ),
        );
        continue;
      }
      for (let i = from; i < this.o.diags.length; i++) {
        // syntax errors, too, say where their file was included
        const d = this.o.diags[i];
        this.o.diags[i] = { ...d, span: { ...d.span, includedFrom: at } };
      }
      for (const x of this.includes(markIncluded(parsed.directives, at), [...stack, file], depth)) out.push(x);
    }
    return out;
  }

  collectSnippets(ds: readonly Directive[]): Directive[] {
    const rest: Directive[] = [];
    for (const d of ds) {
      if (d.name !== 'snippet') {
        rest.push(d);
        continue;
      }
      const name = d.args[0]?.value;
      if (!name || d.args.length > 1 || !d.block) {
        this.o.diags.push(error('GK_DSL_BAD_SNIPPET', "'snippet' needs one name and a block", d.nameSpan, 'usage: snippet NAME { ... }'));
      } else if (this.snippets.has(name)) {
        const first = this.snippets.get(name)!.nameSpan;
        this.o.diags.push(
          error('GK_DSL_DUPLICATE', `duplicate snippet '${name}'`, d.args[0].span, `first defined at ${first.file}:${first.line}:${first.col}`),
        );
      } else this.snippets.set(name, d);
    }
    return rest;
  }

  imports(ds: readonly Directive[], using: readonly string[], depth: number): Directive[] {
    const out: Directive[] = [];
    for (const d of ds) {
      if (d.name === 'snippet') {
        this.o.diags.push(
          error(
            'GK_DSL_MISPLACED',
            "'snippet' is only allowed at the top level",
            d.nameSpan,
            'define snippets outside any block, then import them where needed',
          ),
        );
      } else if (d.name === 'import') {
        for (const x of this.importOne(d, using, depth)) out.push(x);
      } else {
        const args = d.args.map((a) => expandEnvArg(a, this.o.env, this.o.diags));
        out.push({ ...d, args, ...(d.block ? { block: this.inner(d, depth, (b) => this.imports(b, using, depth + 1)) } : {}) });
      }
    }
    return out;
  }

  private importOne(d: Directive, using: readonly string[], depth: number): Directive[] {
    const [a, extra] = d.args;
    if (!a || extra) {
      this.o.diags.push(error('GK_DSL_BAD_ARGS', "'import' takes exactly one snippet name", extra?.span ?? d.nameSpan, 'usage: import NAME'));
      if (!a) return [];
    }
    const snip = this.snippets.get(a.value);
    if (!snip) {
      this.o.diags.push(
        error(
          'GK_DSL_UNKNOWN_SNIPPET',
          `unknown snippet '${a.value}'`,
          a.span,
          didYouMean(a.value, this.snippets.keys()) ?? 'define it first: snippet NAME { ... }',
        ),
      );
      return [];
    }
    if (using.includes(a.value)) {
      this.o.diags.push(error('GK_DSL_IMPORT_CYCLE', `import cycle: snippet '${a.value}' is already being imported`, a.span, [...using, a.value].join(' -> ')));
      return [];
    }
    if (using.length >= MAX_DEPTH) {
      this.o.diags.push(
        error(
          'GK_DSL_TOO_DEEP',
          `snippets import each other more than ${MAX_DEPTH} deep`,
          a.span,
          `${using[0]} -> ... -> ${using[using.length - 1]} -> ${a.value}`,
        ),
      );
      return [];
    }
    return this.imports(relocate(snip.block!, d.nameSpan), [...using, a.value], depth);
  }
}

/** loadGate reads a root file and everything it includes, and returns the expanded directives. */
export function loadGate(path: string, o: ExpandOptions): Directive[] {
  const x = new Expander(o);
  let root: GateFile;
  try {
    root = x.parseFile(path);
  } catch (e) {
    o.diags.push(error('GK_DSL_INCLUDE_MISSING', `cannot read '${path}': ${(e as Error).message}`, { file: path, line: 1, col: 1, len: 0 }));
    return [];
  }
  return expandParsed(root, x, [path]);
}

/** expandText expands a config given as text (tests, stdin), as if read from `file`. */
export function expandText(text: string, file: string, o: ExpandOptions): Directive[] {
  const x = new Expander(o);
  o.sources.set(file, text);
  return expandParsed(parseText(text, file, o.diags), x, [file]);
}

function expandParsed(root: GateFile, x: Expander, stack: string[]): Directive[] {
  const included = x.includes(root.directives, stack, 0);
  return x.imports(x.collectSnippets(included), [], 0);
}
