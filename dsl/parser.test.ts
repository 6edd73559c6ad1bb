import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../test/helpers/paths.js';
import type { Directive } from './ast.js';
import type { Diagnostic } from './diagnostics.js';
import { cstDts } from './gen-cst-dts.js';
import { parseText } from './to-ast.js';

// Golden files in testdata/ast: a valid .gate input, a line of ten dashes, then its AST as
// JSON, one directive per line: where its name starts, its name, its argument values, and
// its block when it has one. UPDATE_GOLDEN=1 rewrites the expected sections.

const AST = repoPath('dsl', 'testdata', 'ast');
const SEPARATOR = '\n----------\n';

/** astJson renders directives as JSON with one directive per line, nested blocks indented. */
function astJson(ds: readonly Directive[], depth = 1): string {
  const pad = '  '.repeat(depth);
  const lines = ds.map((d) => {
    const head = `${pad}{"at":"${d.nameSpan.line}:${d.nameSpan.col}","name":${JSON.stringify(d.name)},"args":${JSON.stringify(d.args.map((a) => a.value))}`;
    if (!d.block) return `${head}}`;
    if (d.block.length === 0) return `${head},"block":[]}`;
    return `${head},"block":[\n${astJson(d.block, depth + 1)}\n${pad}]}`;
  });
  return depth === 1 ? (lines.length ? `[\n${lines.join(',\n')}\n]\n` : '[]\n') : lines.join(',\n');
}

function parse(text: string): { directives: readonly Directive[]; diags: Diagnostic[] } {
  const diags: Diagnostic[] = [];
  return { directives: parseText(text, 'ast.gate', diags).directives, diags };
}

describe('parser golden files (testdata/ast)', () => {
  for (const name of readdirSync(AST)
    .filter((f) => f.endsWith('.gatetest'))
    .sort()) {
    it(name.replace(/\.gatetest$/, ''), () => {
      const path = join(AST, name);
      const text = readFileSync(path, 'utf8');
      const at = text.indexOf(SEPARATOR);
      assert.ok(at >= 0, `${name} has no '----------' line`);
      const input = text.slice(0, at + 1);
      const { directives, diags } = parse(input);
      assert.deepEqual(
        diags.map((d) => `${d.span.line}:${d.span.col} ${d.code} ${d.message}`),
        [],
      );
      const actual = astJson(directives);
      JSON.parse(actual); // the expected section stays valid JSON
      if (process.env.UPDATE_GOLDEN === '1') {
        writeFileSync(path, `${input}${SEPARATOR.slice(1)}${actual}`);
        return;
      }
      assert.equal(actual, text.slice(at + SEPARATOR.length));
    });
  }
});

describe('parser', () => {
  it('keeps the source text of each argument and its span', () => {
    const [d] = parse('respond  "a\\"b"  x${Y}z\n').directives;
    assert.deepEqual(
      d.args.map((a) => [a.raw, a.value, a.quoted, a.span.col, a.span.len]),
      [
        ['"a\\"b"', 'a"b', true, 10, 6],
        ['x${Y}z', 'x${Y}z', false, 18, 6],
      ],
    );
    assert.deepEqual([d.nameSpan.line, d.nameSpan.col, d.nameSpan.len, d.endLine], [1, 1, 7, 1]);
  });

  it('records the opening brace and the line of the closing brace', () => {
    const [d] = parse('server {\n  listen 80\n\n}\n').directives;
    assert.deepEqual([d.blockSpan?.line, d.blockSpan?.col, d.endLine], [1, 8, 4]);
  });

  it('keeps comments, with their positions, for the formatter', () => {
    const diags: Diagnostic[] = [];
    const f = parseText('# one\nglobal { # two\n}\n', 'c.gate', diags);
    assert.deepEqual(
      f.comments.map((c) => [c.text, c.span.line, c.span.col]),
      [
        ['# one', 1, 1],
        ['# two', 2, 10],
      ],
    );
  });

  it('ignores a byte order mark at the start of a file', () => {
    const { directives, diags } = parse('\uFEFFglobal { workers 2 }\n');
    assert.deepEqual(diags, []);
    assert.deepEqual([directives[0].name, directives[0].nameSpan.col], ['global', 1]);
  });

  it('never throws and never reports a raw grammar error, whatever the token sequence', () => {
    const pieces = ['a', 'b c', '"s"', '{', '}', ';', '\n', '"open', '# c\n', '${X}', '$y', ' '];
    let seed = 42;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let n = 0; n < 2000; n++) {
      let text = '';
      for (let i = next() % 12; i >= 0; i--) text += pieces[next() % pieces.length];
      const { diags } = parse(text);
      const raw = diags.filter((d) => d.code === 'GK_DSL_SYNTAX');
      assert.deepEqual(raw, [], `input ${JSON.stringify(text)}`);
    }
  });
});

describe('cst.d.ts', () => {
  it('is what gen-cst-dts generates from the grammar (regenerate: node dist/dsl/gen-cst-dts.js > dsl/cst.d.ts)', () => {
    assert.equal(readFileSync(repoPath('dsl', 'cst.d.ts'), 'utf8'), cstDts());
  });
});
