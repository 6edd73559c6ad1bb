import type { Arg, Directive, Span } from './ast.js';
import { capturesWithin } from './captures.js';
import { spanAt } from './ast.js';
import { didYouMean, error, type Diagnostic } from './diagnostics.js';
import type { ArgSpec, Config, ContextName, DirectiveSpec, OptionSpec, Schema } from './schema.js';
import { Template } from './template.js';
import { recordSpan, spanOf } from './spans.js';
import { usage } from './usage.js';
import { parseValue } from './values.js';

/** SchemaTable says which directives each context accepts, and which request variables exist. */
export interface SchemaTable {
  readonly contexts: Readonly<Record<ContextName, ReadonlyMap<string, DirectiveSpec>>>;
  /** isVariable tells whether `$name` is a known request variable. */
  isVariable(name: string): boolean;
  /** variables lists known variable names, for suggestions. */
  variables(): Iterable<string>;
  /** brokenAt gives the `plugin` line of a directive whose plugin failed its check: its occurrences cannot be checked. */
  brokenAt?(name: string): Span | undefined;
}

/** Checked is a directive that passed its schema: its typed config, and checked children for context blocks. */
export interface Checked {
  readonly name: string;
  readonly spec: DirectiveSpec;
  readonly config: Config;
  readonly span: Span;
  readonly args: readonly Arg[];
  readonly directive: Directive;
  readonly children?: readonly Checked[];
  /** clean is set when the directive's own arguments and options checked with no error (its children aside). */
  readonly clean: boolean;
}

const WHERE: Record<ContextName, string> = { top: 'at the top level', global: 'in global', server: 'in server', route: 'in route' };
const HOME: Record<ContextName, string> = {
  top: 'at the top level',
  global: 'in a global block',
  server: 'in a server block',
  route: 'in a server or route block',
};

/** Checker validates directives against the schema table, collecting every problem. */
class Checker {
  /** captures: for each server or route block being checked, the most $1..$9 its requests can carry. */
  private readonly captures: number[] = [];
  /** tainted is set when a value could not be read for a reason reported elsewhere (an unset ${ENV}). */
  private tainted = false;

  constructor(
    private readonly table: SchemaTable,
    private readonly diags: Diagnostic[],
  ) {}

  directives(ds: readonly Directive[], ctx: ContextName): Checked[] {
    const known = this.table.contexts[ctx];
    const seen = new Map<string, Span>();
    const out: Checked[] = [];
    for (const d of ds) {
      const spec = known.get(d.name);
      if (!spec) {
        this.unknown(d, ctx);
        continue;
      }
      const first = seen.get(d.name);
      if (spec.unique && first) {
        this.diags.push(
          error('GK_DSL_DUPLICATE', `duplicate '${d.name}' ${WHERE[ctx]}`, d.nameSpan, `first given at ${first.line}:${first.col}; it may appear once`),
        );
        continue;
      }
      seen.set(d.name, d.nameSpan);
      const before = this.diags.length;
      this.tainted = false;
      const config = this.schema(d, spec.schema, d.name);
      const clean = !this.tainted && !this.errorsSince(before);
      let children: Checked[] | undefined;
      if (spec.schema.contains) {
        if (!d.block && spec.schema.block === 'required')
          this.diags.push(error('GK_DSL_MISSING_BLOCK', `'${d.name}' needs a block`, d.nameSpan, `usage: ${usage(d.name, spec.schema)}`));
        const scoped = spec.schema.contains === 'server' || spec.schema.contains === 'route';
        if (scoped) this.captures.push(capturesWithin(d.block ?? [], d.name === 'route' ? d : undefined));
        children = this.directives(d.block ?? [], spec.schema.contains);
        if (scoped) this.captures.pop();
      }
      out.push({ name: d.name, spec, config, span: d.nameSpan, args: d.args, directive: d, clean, ...(children ? { children } : {}) });
    }
    return out;
  }

  /** errorsSince tells whether an error was reported after the first `before` diagnostics. */
  private errorsSince(before: number): boolean {
    for (let i = before; i < this.diags.length; i++) if (this.diags[i].severity === 'error') return true;
    return false;
  }

  private unknown(d: Directive, ctx: ContextName): void {
    const broken = this.table.brokenAt?.(d.name);
    if (broken) {
      this.diags.push(
        error(
          'GK_PLUGIN_UNAVAILABLE',
          `'${d.name}' cannot be checked: its plugin did not load`,
          d.nameSpan,
          `see the error at ${broken.file}:${broken.line}:${broken.col}`,
        ),
      );
      return;
    }
    const elsewhere = (Object.keys(this.table.contexts) as ContextName[]).filter((c) => this.table.contexts[c].has(d.name));
    if (elsewhere.length) {
      this.diags.push(error('GK_DSL_MISPLACED', `directive '${d.name}' is not allowed ${WHERE[ctx]}`, d.nameSpan, `'${d.name}' belongs ${HOME[elsewhere[0]]}`));
      return;
    }
    const all = new Set<string>();
    for (const m of Object.values(this.table.contexts)) for (const k of m.keys()) all.add(k);
    const help =
      didYouMean(d.name, this.table.contexts[ctx].keys()) ??
      didYouMean(d.name, all) ??
      (ctx === 'top' ? 'the top level holds global, plugin, server, include and snippet' : 'run `gatekit plugins` to list the directives');
    this.diags.push(error('GK_DSL_UNKNOWN_DIRECTIVE', `unknown directive '${d.name}' ${WHERE[ctx]}`, d.nameSpan, help));
  }

  /** schema checks a directive or option's arguments and options block, returning its config. */
  private schema(d: Directive, schema: Schema, owner: string): Record<string, unknown> {
    const config = this.args(d, schema, owner);
    if (schema.contains) return config;
    if (!schema.options?.length) {
      if (d.block) this.diags.push(error('GK_DSL_UNEXPECTED_BLOCK', `'${owner}' takes no block`, d.blockSpan!, `usage: ${usage(owner, schema)}`));
      return config;
    }
    if (schema.block === 'required' && !d.block) {
      this.diags.push(error('GK_DSL_MISSING_BLOCK', `'${owner}' needs a block`, d.nameSpan, `usage: ${usage(owner, schema)}`));
    }
    this.options(d, schema.options, owner, config);
    return config;
  }

  private options(d: Directive, specs: readonly OptionSpec[], owner: string, config: Record<string, unknown>): void {
    const byName = new Map(specs.map((o) => [o.name, o]));
    const seen = new Map<string, Span>();
    for (const child of d.block ?? []) {
      const o = byName.get(child.name);
      if (!o) {
        this.diags.push(
          error(
            'GK_DSL_UNKNOWN_OPTION',
            `unknown option '${child.name}' in '${owner}'`,
            child.nameSpan,
            didYouMean(child.name, byName.keys()) ?? `'${owner}' accepts ${specs.map((s) => s.name).join(', ')}`,
          ),
        );
        continue;
      }
      const first = seen.get(o.name);
      if (first && !o.repeatable) {
        this.diags.push(error('GK_DSL_DUPLICATE', `duplicate option '${o.name}' in '${owner}'`, child.nameSpan, `first set at ${first.line}:${first.col}`));
        continue;
      }
      seen.set(o.name, child.nameSpan);
      const value = optionValue(o, this.schema(child, o, o.name));
      const at = (o.args?.length === 1 && !o.options?.length && child.args[0]?.span) || child.nameSpan;
      if (o.repeatable) {
        const list = [...((config[o.name] as unknown[]) ?? []), value];
        for (let j = 0; j < list.length - 1; j++) recordSpan(list, j, spanOf(config[o.name] as unknown[], j)!);
        recordSpan(list, list.length - 1, at);
        config[o.name] = list;
      } else config[o.name] = value;
      recordSpan(config, o.name, at);
    }
    for (const o of specs) {
      if (seen.has(o.name)) continue;
      if (o.required) this.diags.push(error('GK_DSL_MISSING_OPTION', `missing option '${o.name}' in '${owner}'`, d.nameSpan, `add: ${usage(o.name, o)}`));
      else if (o.default !== undefined) config[o.name] = this.optionDefault(o, d.nameSpan);
    }
  }

  /** optionDefault reads an option's default as if it were written at `at` (paths start at that file's folder). */
  optionDefault(o: OptionSpec, at: Span): unknown {
    const words = defaultWords(o);
    const fake: Directive = { name: o.name, nameSpan: at, args: words.map((w) => ({ quoted: false, raw: w, value: w, span: at })), endLine: at.line };
    return optionValue(o, this.schema(fake, o, o.name));
  }

  private args(d: Directive, schema: Schema, owner: string): Record<string, unknown> {
    const specs = schema.args ?? [];
    const args = d.args;
    const out: Record<string, unknown> = {};
    let i = 0;
    for (const [k, spec] of specs.entries()) {
      const later = specs.slice(k + 1);
      const requiredAfter = later.filter((s) => !s.optional).length;
      const capacityAfter = later.some((s) => s.variadic) ? Infinity : later.length;
      const remaining = args.length - i;
      if (spec.variadic) {
        const take = Math.max(0, remaining - requiredAfter);
        if (take === 0 && !spec.optional) this.missing(d, spec, schema, owner);
        const list = args.slice(i, i + take);
        out[spec.name] = list.map((a) => this.value(a, spec, owner));
        list.forEach((a, j) => recordSpan(out[spec.name] as unknown[], j, a.span));
        if (list.length) recordSpan(out, spec.name, list[0].span);
        i += take;
      } else if (remaining > requiredAfter) {
        if (spec.optional && remaining <= capacityAfter && !looksLike(spec, args[i].value) && !parseValue(args[i].value, spec, args[i].span.file).ok) {
          out[spec.name] = this.defaultOf(spec, d);
          continue;
        }
        recordSpan(out, spec.name, args[i].span);
        out[spec.name] = this.value(args[i++], spec, owner);
      } else if (spec.optional) {
        out[spec.name] = this.defaultOf(spec, d);
      } else this.missing(d, spec, schema, owner);
    }
    if (i < args.length) {
      const extra = args[i];
      this.diags.push(error('GK_DSL_EXTRA_ARG', `unexpected argument '${extra.value}' for '${owner}'`, extra.span, `usage: ${usage(owner, schema)}`));
    }
    return out;
  }

  private missing(d: Directive, spec: ArgSpec, schema: Schema, owner: string): void {
    this.diags.push(error('GK_DSL_MISSING_ARG', `missing argument ${spec.name.toUpperCase()} for '${owner}'`, d.nameSpan, `usage: ${usage(owner, schema)}`));
  }

  private defaultOf(spec: ArgSpec, d: Directive): unknown {
    if (spec.default === undefined) return undefined;
    const r = parseValue(spec.default, spec, d.nameSpan.file);
    return r.ok ? r.value : undefined;
  }

  private value(a: Arg, spec: ArgSpec, owner: string): unknown {
    if (a.unresolved) {
      this.tainted = true;
      return undefined;
    }
    const r = parseValue(a.value, spec, a.span.file);
    if (!r.ok) {
      const what =
        spec.type === 'regex' ? 'regular expression' : spec.type === 'int' ? 'integer' : spec.type === 'enum' || spec.type === 'string' ? 'value' : spec.type;
      this.diags.push(error('GK_DSL_BAD_ARG', `invalid ${what} '${a.value}' for '${owner}'`, a.span, `expected ${r.expected}`));
      return undefined;
    }
    if (r.value instanceof Template) this.variables(r.value, a);
    return r.value;
  }

  private variables(t: Template, a: Arg): void {
    const exact = a.raw === a.value || a.raw === `"${a.value}"`;
    for (const ref of t.refs) {
      const at = exact ? spanAt(a.span, ref.offset + (a.quoted ? 1 : 0), ref.name.length + 1) : a.span;
      if (/^[1-9]$/.test(ref.name)) {
        this.capture(Number(ref.name), at);
        continue;
      }
      if (this.table.isVariable(ref.name)) continue;
      this.diags.push(
        error(
          'GK_DSL_UNKNOWN_VARIABLE',
          `unknown request variable '$${ref.name}'`,
          at,
          didYouMean(ref.name, this.table.variables())?.replace(/'(.*)'/, "'$$$1'") ?? 'write $$ for a literal dollar sign',
        ),
      );
    }
  }

  /** capture reports a $N that no regex route where it stands can set (it would always be empty). */
  private capture(n: number, at: Span): void {
    const most = this.captures.at(-1);
    if (most === undefined || n <= most) return;
    const why = most === 0 ? 'no regex route (route ~ ...) serves the requests here' : `the regex routes here have ${most} group${most === 1 ? '' : 's'}`;
    this.diags.push(
      error('GK_DSL_NO_CAPTURE', `'$${n}' is never set here: ${why}`, at, 'capture with a group in a regex route: route ~ ^/old/(.*)$ { redirect /new/$1 }'),
    );
  }
}

/** looksLike tells whether text is meant as a value of a numeric type (so a bad one is an error, not skipped). */
function looksLike(spec: ArgSpec, text: string): boolean {
  return (spec.type === 'status' || spec.type === 'int') && /^-?\d+$/.test(text);
}

function optionValue(o: OptionSpec, config: Record<string, unknown>): unknown {
  const args = o.args ?? [];
  if (o.options?.length) return config;
  if (args.length === 0) return true;
  if (args.length === 1) return config[args[0].name];
  return config;
}

/** defaultWords splits an option's default into its arguments: the whole text for an option of one argument, else its words. */
function defaultWords(o: OptionSpec): string[] {
  const args = o.args ?? [];
  if (args.length === 1 && !args[0].variadic) return [o.default!];
  return o.default!.split(/\s+/).filter(Boolean);
}

const ANY_VARIABLE: SchemaTable = {
  contexts: { top: new Map(), global: new Map(), server: new Map(), route: new Map() },
  isVariable: () => true,
  variables: () => [],
};

/**
 * defaultProblem tells what is wrong with an option's default (it does not parse as the
 * option's arguments), for checking a plugin's schema; undefined when it is fine or absent.
 */
export function defaultProblem(o: OptionSpec): string | undefined {
  if (o.default === undefined) return undefined;
  const diags: Diagnostic[] = [];
  new Checker(ANY_VARIABLE, diags).optionDefault(o, { file: '/', line: 1, col: 1, len: 0 });
  const d = diags.find((x) => x.severity === 'error');
  return d && `${d.message.replace(/ for '[^']*'$/, '')}${d.help ? ` (${d.help})` : ''}`;
}

/** checkDirectives validates expanded directives in a context and returns the checked tree. */
export function checkDirectives(ds: readonly Directive[], ctx: ContextName, table: SchemaTable, diags: Diagnostic[]): Checked[] {
  return new Checker(table, diags).directives(ds, ctx);
}
