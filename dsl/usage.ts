import type { ArgSpec, Schema } from './schema.js';

/** argUsage renders one argument as it appears in a usage line: NAME, [NAME], NAME... */
export function argUsage(a: ArgSpec): string {
  const word = a.type === 'enum' && a.values && a.values.length <= 4 ? a.values.join('|') : a.name.toUpperCase();
  const many = a.variadic ? '...' : '';
  return a.optional ? `[${word}${many}]` : `${word}${many}`;
}

/** usage renders a directive's usage line: `redirect [STATUS] TARGET { ... }`. */
export function usage(name: string, schema: Schema): string {
  const parts = [name, ...(schema.args ?? []).map(argUsage)];
  if (schema.options?.length || schema.contains) parts.push('{ ... }');
  return parts.join(' ');
}
