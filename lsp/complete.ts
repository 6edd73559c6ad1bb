import { CompletionItemKind, type CompletionItem, type Range } from 'vscode-languageserver/node';
import type { PluginRegistry } from '../core/registry.js';
import { prefixFamilies, variableDocs } from './analysis.js';
import { describeEntry } from './describe.js';
import { KEYWORDS } from './hover.js';
import { offsetAt, placeAt } from './place.js';
import { argAt, entriesAt, entryAt, levelAt } from './schema-at.js';

/** CompleteInput is what completion needs besides the text: the schemas and the snippets the config defines. */
export interface CompleteInput {
  readonly table: PluginRegistry;
  readonly snippets: Iterable<string>;
}

/**
 * completeAt offers what may be written at the cursor: the directives or options the enclosing
 * block accepts, an argument's enum values (or on/off), snippet names after `import`, and
 * request variables after `$`.
 */
export function completeAt(text: string, line: number, character: number, input: CompleteInput): CompletionItem[] {
  const offset = offsetAt(text, line, character);
  const items = offer(text, offset, input);
  const typed = typedBefore(text, offset);
  const start = offset - typed.replace(/^.*\$/s, '').length;
  const range: Range = { start: { line, character: character - (offset - start) }, end: { line, character } };
  return items.map((i) => ({ ...i, textEdit: { range, newText: i.label } }));
}

/** typedBefore is the part of the word at the cursor that is written before it. */
function typedBefore(text: string, offset: number): string {
  const t = placeAt(text, offset).token;
  return t ? t.image.slice(0, offset - t.startOffset) : '';
}

function offer(text: string, offset: number, input: CompleteInput): CompletionItem[] {
  const place = placeAt(text, offset);
  const typed = place.token ? place.token.image.slice(0, offset - place.token.startOffset) : '';
  if (/\$[A-Za-z0-9_]*$/.test(typed) && !/\$\{[^}]*$/.test(typed)) return variables(input.table);
  const level = levelAt(place.path, input.table);
  if (!place.before.length) {
    // include and import work in any block, but belong where directives go, not among options
    const keywords = level?.kind === 'context' ? Object.keys(KEYWORDS).filter((k) => k !== 'snippet' || !place.path.length) : [];
    const entries = level ? entriesAt(level, input.table) : [];
    return [
      ...entries.map((e) => ({
        label: e.name,
        kind: level!.kind === 'context' ? CompletionItemKind.Keyword : CompletionItemKind.Property,
        detail: e.doc,
        documentation: { kind: 'markdown' as const, value: describeEntry(e, input.table) },
      })),
      ...keywords.map((k) => ({ label: k, kind: CompletionItemKind.Keyword, detail: KEYWORDS[k].split('\n').at(-1) })),
    ];
  }
  const name = place.before[0].image;
  if (name === 'import' && place.before.length === 1) return [...input.snippets].map((s) => ({ label: s, kind: CompletionItemKind.Module }));
  const entry = level && entryAt(level, name, input.table);
  const a = entry && argAt(entry.schema, place.before.length - 1);
  const words = a?.type === 'enum' ? (a.values ?? []) : a?.type === 'bool' ? ['on', 'off'] : [];
  return words.map((w) => ({ label: w, kind: CompletionItemKind.EnumMember, ...(a?.default === w ? { detail: 'default' } : {}) }));
}

function variables(table: PluginRegistry): CompletionItem[] {
  const known = [...variableDocs(table)].map(([name, doc]) => ({ label: name, kind: CompletionItemKind.Variable, detail: doc }));
  const families = prefixFamilies().map(([stem, doc]) => ({ label: stem, kind: CompletionItemKind.Variable, detail: doc }));
  return [...known, ...families];
}
