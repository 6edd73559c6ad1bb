import { CompletionItemKind, type CompletionItem, type Diagnostic as LspDiagnostic, type Hover } from 'vscode-languageserver/node';
import type { PluginRegistry } from '../core/registry.js';
import { readExpectations } from '../configtest/expectations.js';
import { TEST_WORDS, wordsAt } from '../configtest/vocabulary.js';
import type { Diagnostic } from '../dsl/diagnostics.js';
import { toLsp } from './diagnostics.js';
import { offsetAt, placeAt } from './place.js';

/** isTestFile tells a `gatekit test` file (`site.gate.test`) from a config. */
export const isTestFile = (path: string): boolean => path.endsWith('.test');

/** METHODS are offered after `expect`. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** testFileDiagnostics reads a test file as `gatekit test` does and returns its mistakes; running it is `gatekit test`'s job. */
export function testFileDiagnostics(text: string, path: string): LspDiagnostic[] {
  const diags: Diagnostic[] = [];
  readExpectations(text, path, diags);
  return diags.map(toLsp);
}

/** testCompleteAt offers what a test file takes at the cursor: `expect`, a method, the words of its block, a handler's name. */
export function testCompleteAt(text: string, line: number, character: number, table: PluginRegistry): CompletionItem[] {
  const place = placeAt(text, offsetAt(text, line, character));
  const word = (w: string): CompletionItem => ({ label: w, kind: CompletionItemKind.Keyword, detail: TEST_WORDS[w].usage, documentation: TEST_WORDS[w].doc });
  const before = place.before.map((t) => t.image);
  if (!place.path.length) {
    if (!before.length) return wordsAt('top').map(word);
    return before.length === 1 && before[0] === 'expect' ? METHODS.map((m) => ({ label: m, kind: CompletionItemKind.EnumMember })) : [];
  }
  if (place.path[0] !== 'expect' || place.path.length > 1) return [];
  if (!before.length) return [...wordsAt('request'), ...wordsAt('check')].map(word);
  if (before.length === 1 && before[0] === 'handler') return [...handlerNames(table), 'none'].map((h) => ({ label: h, kind: CompletionItemKind.Function }));
  return [];
}

/** testHoverAt explains the test word under the cursor. */
export function testHoverAt(text: string, line: number, character: number): Hover | undefined {
  const offset = offsetAt(text, line, character);
  const place = placeAt(text, offset + 1);
  const t = place.token;
  const w = t && !place.before.length && t.startOffset <= offset ? TEST_WORDS[t.image] : undefined;
  if (!t || !w) return undefined;
  const range = { start: { line: t.startLine! - 1, character: t.startColumn! - 1 }, end: { line: t.endLine! - 1, character: t.endColumn! } };
  return { range, contents: { kind: 'markdown', value: `\`${w.usage}\`\n\n${w.doc}` } };
}

function handlerNames(table: PluginRegistry): string[] {
  return table.plugins.flatMap((p) => p.directives.filter((s) => s.kind === 'handler').map((s) => s.name)).sort();
}
