import type { ArgSpec, ContextName, DirectiveSpec, OptionSpec, Schema } from '../dsl/schema.js';
import type { PluginRegistry } from '../core/registry.js';

/** Level is what a block accepts: the directives of a context, or the options of a directive. */
export type Level = { readonly kind: 'context'; readonly ctx: ContextName } | { readonly kind: 'options'; readonly options: readonly OptionSpec[] };

/** Entry is a directive or option that may be written at a level, with its docs. */
export interface Entry {
  readonly name: string;
  readonly schema: Schema;
  readonly doc?: string;
  readonly default?: string;
  /** spec is set for directives (not options). */
  readonly spec?: DirectiveSpec;
}

// A snippet is imported into servers and routes; a server accepts everything a route does.
const SNIPPET: Level = { kind: 'context', ctx: 'server' };
const TOP: Level = { kind: 'context', ctx: 'top' };

/** levelAt follows the names of enclosing blocks from the top level; undefined where a name is unknown. */
export function levelAt(path: readonly string[], table: PluginRegistry): Level | undefined {
  let level: Level | undefined = TOP;
  for (const [i, name] of path.entries()) {
    if (!level) return undefined;
    if (i === 0 && name === 'snippet') {
      level = SNIPPET;
      continue;
    }
    const entry = entryAt(level, name, table);
    const s = entry?.schema;
    level = !s ? undefined : s.contains ? { kind: 'context', ctx: s.contains } : s.options ? { kind: 'options', options: s.options } : undefined;
  }
  return level;
}

/** entriesAt lists what may be written at a level. */
export function entriesAt(level: Level, table: PluginRegistry): Entry[] {
  if (level.kind === 'options')
    return level.options.map((o) => ({ name: o.name, schema: o, ...(o.doc ? { doc: o.doc } : {}), ...(o.default ? { default: o.default } : {}) }));
  return [...table.contexts[level.ctx].values()].map((spec) => ({
    name: spec.name,
    schema: spec.schema,
    doc: spec.doc,
    spec,
    ...(spec.default ? { default: spec.default } : {}),
  }));
}

/** entryAt finds one directive or option by name at a level. */
export function entryAt(level: Level, name: string, table: PluginRegistry): Entry | undefined {
  return entriesAt(level, table).find((e) => e.name === name);
}

/** argAt is the argument spec the `index`th argument of a schema fills (a variadic last one takes the rest). */
export function argAt(schema: Schema, index: number): ArgSpec | undefined {
  const args = schema.args ?? [];
  const last = args[args.length - 1];
  return args[index] ?? (last?.variadic ? last : undefined);
}
