import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver/node';
import type { Directive } from '../dsl/ast.js';
import type { Diagnostic } from '../dsl/diagnostics.js';
import { parseText } from '../dsl/to-ast.js';
import { rangeOf } from './diagnostics.js';

const SHOWN: Readonly<Record<string, SymbolKind>> = {
  server: SymbolKind.Namespace,
  route: SymbolKind.Function,
  snippet: SymbolKind.Module,
  global: SymbolKind.Object,
};

/** symbolsOf outlines a .gate text: its servers (named by their hostnames or listen addresses), routes, snippets and global block. */
export function symbolsOf(text: string): DocumentSymbol[] {
  const scratch: Diagnostic[] = []; // the outline shows what parses; diagnostics come from the check
  return outline(parseText(text, '', scratch).directives);
}

function outline(ds: readonly Directive[]): DocumentSymbol[] {
  return ds
    .filter((d) => SHOWN[d.name] !== undefined)
    .map((d) => {
      const selection = rangeOf(d.nameSpan);
      const range = { start: selection.start, end: { line: d.endLine, character: 0 } }; // to the start of the line after its '}'
      return { name: title(d), kind: SHOWN[d.name], range, selectionRange: selection, children: outline(d.block ?? []) };
    });
}

function title(d: Directive): string {
  if (d.name !== 'server' || d.args.length) return [d.name, ...d.args.map((a) => a.raw)].join(' ');
  const listens =
    d.block
      ?.filter((c) => c.name === 'listen')
      .map((c) => c.args[0]?.raw)
      .filter(Boolean) ?? [];
  return `server ${listens.join(' ')}`.trim();
}
