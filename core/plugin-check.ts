import { inspect } from 'node:util';
import { defaultProblem } from '../dsl/check.js';
import { didYouMean } from '../dsl/diagnostics.js';
import { ARG_TYPES, DIRECTIVE_KINDS, type OptionSpec } from '../dsl/schema.js';
import { parseValue } from '../dsl/values.js';

// A third-party plugin's schema is data no type checker may have seen (plain JavaScript):
// it is checked when the plugin loads, so that a mistake in it is a message naming the field,
// not a TypeError thrown from deep inside the config checker.

/** SchemaProblem is one mistake in a plugin's declaration: where (a field path) and what. */
export interface SchemaProblem {
  /** field is a path into the plugin: `directive 'hello' schema.args[0].type`. */
  readonly field: string;
  readonly message: string;
  readonly help?: string;
}

const DIRECTIVE_KEYS = ['name', 'kind', 'doc', 'schema', 'unique', 'create'];
const SCHEMA_KEYS = ['args', 'options', 'block'];
const OPTION_KEYS = ['name', 'doc', 'repeatable', 'required', 'default', 'args', 'options', 'block'];
const ARG_KEYS = ['name', 'type', 'optional', 'default', 'variadic', 'values', 'min', 'max', 'schemes', 'also'];
/** LIKELY are type names other languages use, and what gatekit calls them. */
const LIKELY: Record<string, string> = {
  integer: 'int',
  number: 'int',
  float: 'int',
  boolean: 'bool',
  str: 'string',
  text: 'string',
  file: 'path',
  dir: 'path',
  uri: 'url',
  choice: 'enum',
  regexp: 'regex',
};
const NAME = /^[a-z][a-z0-9_]*$/;

/** field extends a field path: `directive 'x'` + `kind` is `directive 'x' kind`; `schema` + `args` is `schema.args`. */
const field = (at: string, key: string): string => (!at ? key : at.endsWith("'") ? `${at} ${key}` : `${at}.${key}`);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
/** shown writes a value from a plugin's schema for a message: a word as it is, anything else as Node prints it (never [object Object]). */
const shown = (v: unknown): string => (typeof v === 'string' ? v : inspect(v, { depth: 1, breakLength: Infinity }));

/** Problems collects the mistakes of one plugin. */
class Problems {
  readonly list: SchemaProblem[] = [];

  add(field: string, message: string, help?: string): void {
    this.list.push({ field, message, ...(help ? { help } : {}) });
  }

  /** keys reports fields not in `known` (a misspelled `optinal`), with the closest known one. */
  keys(o: Record<string, unknown>, known: readonly string[], at: string): void {
    for (const k of Object.keys(o)) {
      if (!known.includes(k) && !k.startsWith('__'))
        this.add(field(at, k), `unknown field '${k}'`, didYouMean(k, known) ?? `known fields: ${known.join(', ')}`);
    }
  }

  /** flags reports fields that must be booleans when present. */
  flags(o: Record<string, unknown>, names: readonly string[], at: string): void {
    for (const n of names) if (o[n] !== undefined && typeof o[n] !== 'boolean') this.add(field(at, n), `'${n}' must be true or false`);
  }

  name(v: unknown, at: string, what: string): void {
    if (typeof v !== 'string') this.add(field(at, 'name'), `missing ${what} name`, `give it one in snake_case: name: 'max_size'`);
    else if (!NAME.test(v)) this.add(field(at, 'name'), `invalid ${what} name '${v}'`, 'names are snake_case: lower-case letters, digits and _');
  }
}

/** checkPlugin lists the mistakes in a plugin's declaration: its name, directives and their schemas. */
export function checkPlugin(p: unknown): SchemaProblem[] {
  const out = new Problems();
  if (!isObject(p)) {
    out.add('', 'not a plugin object');
    return out.list;
  }
  if (typeof p.name !== 'string' || !p.name) out.add('name', "missing plugin 'name'", "give the plugin a name: name = 'hello'");
  if (!Array.isArray(p.directives)) {
    out.add('directives', "missing 'directives'", 'list the directives the plugin owns: directives = [hello]');
    return out.list;
  }
  if (p.requires !== undefined && !isStrings(p.requires)) out.add('requires', "'requires' must be a list of plugin names");
  if (p.variables !== undefined && !(Array.isArray(p.variables) && p.variables.every((v) => isObject(v) && typeof v.name === 'string'))) {
    out.add('variables', "'variables' must be a list of { name, doc }");
  }
  for (const k of ['create', 'close', 'master']) if (p[k] !== undefined && typeof p[k] !== 'function') out.add(k, `'${k}' must be a function`);
  p.directives.forEach((d, i) => directive(out, d, `directives[${i}]`, typeof p.create === 'function'));
  return out.list;
}

function directive(out: Problems, d: unknown, at: string, pluginCreates: boolean): void {
  if (!isObject(d)) {
    out.add(at, 'not a directive spec (an object with name, kind, doc and schema)');
    return;
  }
  if (typeof d.name === 'string') at = `directive '${d.name}'`;
  out.keys(d, DIRECTIVE_KEYS, at);
  out.name(d.name, at, 'directive');
  if (d.kind === undefined) out.add(field(at, 'kind'), "missing 'kind'", `one of ${DIRECTIVE_KINDS.join(', ')}`);
  else if (!DIRECTIVE_KINDS.includes(d.kind as never)) {
    out.add(field(at, 'kind'), `unknown kind '${shown(d.kind)}'`, didYouMean(shown(d.kind), DIRECTIVE_KINDS) ?? `one of ${DIRECTIVE_KINDS.join(', ')}`);
  }
  if (typeof d.doc !== 'string') out.add(field(at, 'doc'), "missing 'doc'", 'one line that `gatekit plugins` shows');
  out.flags(d, ['unique'], at);
  if (d.create !== undefined && typeof d.create !== 'function') out.add(field(at, 'create'), "'create' must be a function");
  if (d.create === undefined && !pluginCreates)
    out.add(at, 'nothing makes its units', 'bind it to a factory (bind(spec, factory)), or give the plugin a create() method');
  if (!isObject(d.schema)) {
    out.add(field(at, 'schema'), "missing 'schema'", 'an object with args and options: schema: { args: [], options: [] }');
    return;
  }
  out.keys(d.schema, SCHEMA_KEYS, field(at, 'schema'));
  schema(out, d.schema, field(at, 'schema'));
}

/** schema checks the args and options of a directive or an option, and that their names do not collide. */
function schema(out: Problems, s: Record<string, unknown>, at: string): void {
  if (s.block !== undefined && s.block !== 'required') out.add(field(at, 'block'), `'block' may only be 'required'`);
  const names = new Set<string>();
  const unique = (n: unknown, where: string): void => {
    if (typeof n !== 'string') return;
    if (names.has(n)) out.add(where, `two fields are named '${n}'`, 'each argument and option of a block needs a name of its own');
    names.add(n);
  };
  for (const [list, check] of [
    ['args', arg],
    ['options', option],
  ] as const) {
    if (s[list] === undefined) continue;
    if (!Array.isArray(s[list])) {
      out.add(field(at, list), `'${list}' must be a list`);
      continue;
    }
    (s[list] as unknown[]).forEach((x, i) => {
      check(out, x, field(at, `${list}[${i}]`));
      unique(isObject(x) ? x.name : undefined, field(field(at, `${list}[${i}]`), 'name'));
    });
  }
}

function option(out: Problems, o: unknown, at: string): void {
  if (!isObject(o)) {
    out.add(at, 'not an option spec (an object with name, doc and args)');
    return;
  }
  out.keys(o, OPTION_KEYS, at);
  out.name(o.name, at, 'option');
  if (o.doc !== undefined && typeof o.doc !== 'string') out.add(field(at, 'doc'), "'doc' must be a string");
  out.flags(o, ['repeatable', 'required'], at);
  schema(out, o, at);
  if (o.default === undefined) return;
  if (typeof o.default !== 'string') {
    out.add(field(at, 'default'), "'default' must be a string, written as in a .gate file: '30s'");
    return;
  }
  if (o.required) out.add(field(at, 'default'), 'a required option has no default');
  if (o.repeatable) out.add(field(at, 'default'), 'a repeatable option has no default', 'a left-out repeatable option is absent');
  const problem = out.list.some((p) => p.field.startsWith(at)) ? undefined : defaultProblem(o as unknown as OptionSpec);
  if (problem) out.add(field(at, 'default'), `default '${o.default}' is not a valid value: ${problem}`);
}

function arg(out: Problems, a: unknown, at: string): void {
  if (!isObject(a)) {
    out.add(at, 'not an argument spec (an object with name and type)');
    return;
  }
  out.keys(a, ARG_KEYS, at);
  out.name(a.name, at, 'argument');
  out.flags(a, ['optional', 'variadic'], at);
  const type = a.type;
  if (type === undefined) {
    out.add(field(at, 'type'), "missing 'type'", `one of ${ARG_TYPES.join(', ')}`);
    return;
  }
  if (!ARG_TYPES.includes(type as never)) {
    const guess = typeof type === 'string' ? LIKELY[type.toLowerCase()] : undefined;
    out.add(
      field(at, 'type'),
      `unknown argument type '${shown(type)}'`,
      guess ? `did you mean '${guess}'?` : (didYouMean(shown(type), ARG_TYPES) ?? `one of ${ARG_TYPES.join(', ')}`),
    );
    return;
  }
  if (type === 'enum' && !(isStrings(a.values) && (a.values as string[]).length)) out.add(field(at, 'values'), "an enum needs 'values': the words it accepts");
  else if (a.values !== undefined && !isStrings(a.values)) out.add(field(at, 'values'), "'values' must be a list of words");
  for (const k of ['schemes', 'also']) if (a[k] !== undefined && !isStrings(a[k])) out.add(field(at, k), `'${k}' must be a list of words`);
  for (const k of ['min', 'max']) if (a[k] !== undefined && typeof a[k] !== 'number') out.add(field(at, k), `'${k}' must be a number`);
  if (a.default === undefined) return;
  if (typeof a.default !== 'string') {
    out.add(field(at, 'default'), "'default' must be a string, written as in a .gate file: '30s'");
    return;
  }
  if (!a.optional) out.add(field(at, 'default'), 'only an optional argument has a default', 'add optional: true');
  const r = parseValue(a.default, a as never, '/');
  if (!r.ok) out.add(field(at, 'default'), `default '${a.default}' is not a valid ${shown(type)}`, `expected ${r.expected}`);
}
