import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import oniguruma from 'vscode-oniguruma';
import textmate from 'vscode-textmate';
import type { IGrammar } from 'vscode-textmate';
import { repoPath } from '../helpers/paths.js';

const require = createRequire(import.meta.url);

async function loadGrammar(): Promise<IGrammar> {
  const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope: string) => {
      if (scope !== 'source.gate') return null;
      const path = repoPath('editors', 'vscode', 'syntaxes', 'gate.tmLanguage.json');
      return textmate.parseRawGrammar(readFileSync(path, 'utf8'), path);
    },
  });
  return (await registry.loadGrammar('source.gate'))!;
}

/** tokensOf tokenizes a text and lists each non-blank token as [text, its innermost gate scope]. */
function tokensOf(grammar: IGrammar, text: string): [string, string][] {
  let state = textmate.INITIAL;
  const out: [string, string][] = [];
  for (const line of text.split('\n')) {
    const r = grammar.tokenizeLine(line, state);
    for (const t of r.tokens) {
      const word = line.slice(t.startIndex, t.endIndex);
      if (word.trim()) out.push([word.trim(), t.scopes.at(-1)!]);
    }
    state = r.ruleStack;
  }
  return out;
}

const scopeOf = (tokens: [string, string][], word: string): string | undefined => tokens.find(([w]) => w === word)?.[1];

describe('the VS Code TextMate grammar for .gate', () => {
  let grammar: IGrammar;
  before(async () => {
    grammar = await loadGrammar();
  });

  it('scopes directives, strings, variables, comments, numbers and braces in the samples', () => {
    const tokens = tokensOf(grammar, readFileSync(repoPath('samples', 'third-party', 'gatekit.gate'), 'utf8'));
    assert.equal(
      scopeOf(tokens, '# Load a third-party plugin from a path (an npm package name works too: plugin gatekit-plugin-hello)'),
      'comment.line.number-sign.gate',
    );
    for (const d of ['plugin', 'server', 'listen', 'route', 'respond', 'hello', 'greeting', 'shout'])
      assert.equal(scopeOf(tokens, d), 'keyword.other.directive.gate', d);
    assert.equal(scopeOf(tokens, '${PORT:-8080}'), 'variable.other.environment.gate');
    assert.equal(scopeOf(tokens, '$1'), 'variable.other.request.gate');
    assert.equal(scopeOf(tokens, '200'), 'constant.numeric.gate');
    assert.equal(scopeOf(tokens, 'on'), 'constant.language.boolean.gate');
    assert.equal(scopeOf(tokens, '{'), 'punctuation.section.block.begin.gate');
    assert.equal(scopeOf(tokens, '~'), 'keyword.operator.route.gate');
  });

  it('scopes a variable and an escape inside a string, and an argument that merely looks like a directive', () => {
    const tokens = tokensOf(grammar, 'route / { respond 200 "hi \\"$host\\" $$5"; log off }\nredirect 301 https://$host$uri\n');
    assert.deepEqual(
      tokens.filter(([, s]) => s !== 'string.quoted.double.gate'),
      [
        ['route', 'keyword.other.directive.gate'],
        ['/', 'source.gate'],
        ['{', 'punctuation.section.block.begin.gate'],
        ['respond', 'keyword.other.directive.gate'],
        ['200', 'constant.numeric.gate'],
        ['\\"', 'constant.character.escape.gate'],
        ['$host', 'variable.other.request.gate'],
        ['\\"', 'constant.character.escape.gate'],
        ['$$', 'constant.character.escape.gate'],
        [';', 'punctuation.terminator.gate'],
        ['log', 'keyword.other.directive.gate'],
        ['off', 'constant.language.boolean.gate'],
        ['}', 'punctuation.section.block.end.gate'],
        ['redirect', 'keyword.other.directive.gate'],
        ['301', 'constant.numeric.gate'],
        ['https://', 'source.gate'],
        ['$host', 'variable.other.request.gate'],
        ['$uri', 'variable.other.request.gate'],
      ],
    );
  });
});
