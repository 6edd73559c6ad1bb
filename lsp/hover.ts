import type { Hover } from 'vscode-languageserver/node';
import type { PluginRegistry } from '../core/registry.js';
import { describeArg, describeEntry } from './describe.js';
import { variableDoc } from './analysis.js';
import { offsetAt, placeAt } from './place.js';
import { argAt, entryAt, levelAt } from './schema-at.js';

/** KEYWORDS are the directives the expander handles before any schema sees the file. */
export const KEYWORDS: Readonly<Record<string, string>> = {
  include: 'include FILE-OR-GLOB\n\nsplices other .gate files in here (a glob includes each match, in name order)',
  import: 'import NAME\n\nwrites the block of `snippet NAME` here',
  snippet: 'snippet NAME { ... }\n\na named block of directives, written where `import NAME` stands (top level only)',
};

/** hoverAt explains the word under the cursor: a directive or option, an argument, or a `$variable`. */
export function hoverAt(text: string, line: number, character: number, table: PluginRegistry): Hover | undefined {
  const offset = offsetAt(text, line, character);
  const place = placeAt(text, offset + 1);
  const t = place.token;
  if (!t || t.startOffset > offset) return undefined;
  const range = { start: { line: t.startLine! - 1, character: t.startColumn! - 1 }, end: { line: t.endLine! - 1, character: t.endColumn! } };
  const variable = variableUnder(t.image, offset - t.startOffset);
  if (variable) {
    const doc = variableDoc(variable, table);
    return doc ? { range, contents: { kind: 'markdown', value: `\`$${variable}\`: ${doc}` } } : undefined;
  }
  const level = levelAt(place.path, table);
  const name = place.before[0]?.image ?? t.image;
  if (!place.before.length && KEYWORDS[name]) return { range, contents: { kind: 'markdown', value: KEYWORDS[name] } };
  const entry = level && entryAt(level, name, table);
  if (!entry) return undefined;
  if (!place.before.length) return { range, contents: { kind: 'markdown', value: describeEntry(entry, table) } };
  const a = argAt(entry.schema, place.before.length - 1);
  return a ? { range, contents: { kind: 'markdown', value: `\`${a.name.toUpperCase()}\` of \`${name}\`: ${describeArg(a)}` } } : undefined;
}

/** variableUnder returns the name of the `$variable` (or `${variable}`) that covers position `at` in a word. */
export function variableUnder(word: string, at: number): string | undefined {
  for (const m of word.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g)) {
    if (m.index! <= at && at < m.index! + m[0].length && !m[0].startsWith('${')) return m[1];
  }
  return undefined;
}
