import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testRoot, checkGate } from '../test/helpers/gate.js';
import { loadConfig } from '../core/load.js';
import { MAX_DEPTH } from './depth.js';
import { error, renderDiagnostic, type Diagnostic } from './diagnostics.js';
import { formatGate } from './format.js';
import { parseText } from './to-ast.js';

const routes = (n: number, inner = 'respond "x"'): string => `${'route /a/ {\n'.repeat(n)}${inner}\n${'}\n'.repeat(n)}`;
const brief = (ds: readonly Diagnostic[]): string[] => ds.map((d) => `${d.span.line}:${d.span.col} ${d.code}`);

describe('nesting and size limits', function () {
  this.timeout(20_000); // 100k-deep and 100k-long inputs
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-depth-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it(`takes blocks ${MAX_DEPTH} deep, and reports the '{' that opens one more, once`, async () => {
    const ok = `server { listen 127.0.0.1:0\n${routes(MAX_DEPTH - 1)}}\n`;
    assert.deepEqual(brief(await checkGate(ok)), []);
    const deep = `server { listen 127.0.0.1:0\n${routes(1000)}}\n`;
    const ds = await checkGate(deep);
    assert.deepEqual(brief(ds), [`${MAX_DEPTH + 1}:11 GK_DSL_TOO_DEEP`]);
    assert.equal(ds[0].message, `blocks nest more than ${MAX_DEPTH} deep`);
  });

  it('survives a file 100,000 blocks deep in parse, check and fmt, closed or not', async () => {
    for (const text of ['server {'.repeat(100_000), `${'a {\n'.repeat(100_000)}${'}\n'.repeat(100_000)}`]) {
      const diags: Diagnostic[] = [];
      const parsed = parseText(text, 'deep.gate', diags);
      assert.equal(diags.filter((d) => d.code === 'GK_DSL_TOO_DEEP').length, 1);
      assert.ok(formatGate(parsed, text).length > 0); // fmt refuses a file with errors, but must not crash on one
      assert.ok((await checkGate(text)).some((d) => d.code === 'GK_DSL_TOO_DEEP'));
    }
  });

  it('counts the levels an include or an import brings in', async () => {
    writeFileSync(join(dir, 'inner.gate'), routes(60));
    const outer = join(dir, 'outer.gate');
    const text = `server { listen 127.0.0.1:0\n${'route /a/ {\n'.repeat(59)}include inner.gate\n${'}\n'.repeat(59)}}\n`;
    const ds = await checkGate(text, { file: outer });
    assert.deepEqual(
      ds.map((d) => [d.code, d.span.file, d.span.line, d.span.col, d.span.includedFrom?.line]),
      [['GK_DSL_TOO_DEEP', join(dir, 'inner.gate'), 41, 11, 61]],
    );
    const snippets = `snippet deep { ${'route /a/ { '.repeat(60)}respond x${' }'.repeat(60)} }\nserver { listen 127.0.0.1:0\n${'route /a/ {\n'.repeat(59)}import deep\n${'}\n'.repeat(59)}}\n`;
    assert.deepEqual(brief(await checkGate(snippets)), ['1:506 GK_DSL_TOO_DEEP']);
  });

  it('stops a chain of 1,000 includes, and of 1,000 snippets importing each other, at the limit', async () => {
    for (let i = 0; i < 1000; i++) writeFileSync(join(dir, `c${i}.gate`), i < 999 ? `include c${i + 1}.gate\n` : 'server { listen 127.0.0.1:0; respond x }\n');
    const chain = await loadConfig(join(dir, 'c0.gate'), { root: testRoot(), env: {} });
    assert.deepEqual(
      chain.diagnostics.map((d) => [d.code, d.span.file]),
      [['GK_DSL_TOO_DEEP', join(dir, `c${MAX_DEPTH}.gate`)]],
    );
    const snippets = [
      ...Array.from({ length: 1000 }, (_, i) => `snippet s${i} { import s${i + 1} }`),
      'snippet s1000 { respond x }',
      'server { listen 127.0.0.1:0; import s0 }',
    ];
    const ds = await checkGate(snippets.join('\n'));
    assert.deepEqual(brief(ds), [`${MAX_DEPTH}:22 GK_DSL_TOO_DEEP`]);
    assert.match(ds[0].message, /snippets import each other more than 100 deep/);
  });

  it('reports 40,000 problems in one file, each once, in linear time', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `route /r${i}/ { respnd x }\n`).join('');
    const text = `server { listen 127.0.0.1:0\n${lines}}\n${'a\u00a0'.repeat(20_000)}\n`;
    const ds = await checkGate(text);
    assert.equal(ds.filter((d) => d.code === 'GK_DSL_UNKNOWN_DIRECTIVE').length, 20_001); // and 'a' at the top level
    assert.equal(ds.filter((d) => d.code === 'GK_DSL_BAD_CHAR').length, 20_000);
    assert.equal(ds.length, 40_001, 'no echo (route has no handler) of the error inside each route');
    const rendered = ds.slice(0, 20_000).map((d) => renderDiagnostic(d, () => text));
    assert.equal(rendered[19_999].split('\n')[1], ' 20001 | route /r19999/ { respnd x }');
  });

  it('quotes a huge line and a huge word only around the culprit', () => {
    const line = `${'x'.repeat(100_000)} bad ${'y'.repeat(100_000)}`;
    const d = error('GK_DSL_BAD_ARG', `invalid value '${'z'.repeat(10_000)}'`, { file: 'f', line: 1, col: 100_002, len: 3 });
    const [head, quoted, caret] = renderDiagnostic(d, () => line).split('\n');
    assert.ok(head.length < 300 && quoted.length < 140, 'bounded output');
    assert.equal(quoted.indexOf(' bad ') + 1, caret.indexOf('^'));
    assert.match(caret, /\^{3}$/);
  });
});
