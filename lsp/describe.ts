import type { ArgSpec } from '../dsl/schema.js';
import { usage } from '../dsl/usage.js';
import type { PluginRegistry } from '../core/registry.js';
import type { Entry } from './schema-at.js';

/** describeEntry renders a directive or option as Markdown: usage, doc, defaults, owner. */
export function describeEntry(e: Entry, table: PluginRegistry): string {
  const lines = ['```gate', usage(e.name, e.schema), '```', e.doc ?? ''];
  const defaults = [...(e.default ? [e.default] : []), ...(e.schema.args ?? []).filter((a) => a.default).map((a) => `${a.name.toUpperCase()} ${a.default}`)];
  if (defaults.length) lines.push('', `default: \`${defaults.join('`, `')}\``);
  for (const a of e.schema.args ?? []) lines.push(`- \`${a.name.toUpperCase()}\`: ${describeArg(a)}`);
  if (e.spec) lines.push('', `${e.spec.kind} directive of plugin \`${table.owner(e.name)?.plugin?.name ?? 'kernel'}\``);
  return lines.join('\n').trim();
}

/** describeArg says what one argument takes: its type, its enum values, whether it may be left out. */
export function describeArg(a: ArgSpec): string {
  const what = a.type === 'enum' && a.values ? `one of ${a.values.join(', ')}` : a.type;
  return `${what}${a.optional ? ', optional' : ''}${a.variadic ? ', one or more' : ''}${a.default ? ` (default ${a.default})` : ''}`;
}
