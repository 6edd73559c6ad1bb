import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkGate } from '../test/helpers/gate.js';
import { repoPath } from '../test/helpers/paths.js';
import { didYouMean, editDistance, error, renderDiagnostic, type Diagnostic } from './diagnostics.js';

// Golden files in testdata/errors: the .gate input, a line of ten dashes, then one line per
// diagnostic, `LINE:COL CODE message`, each followed by the include chain of its position
// (`    note: included from FILE:LINE:COL`) and its help (`    help: ...`), when it has them.
// A diagnostic in another file than the input starts with that file's path, relative to testdata.
// UPDATE_GOLDEN=1 rewrites the expected sections from what the code produces (review the diff).

const TESTDATA = repoPath('dsl', 'testdata');
const ERRORS = join(TESTDATA, 'errors');
const SEPARATOR = '\n----------\n';
const ENV = { HOME_PORT: '8080', EMPTY: '' };

/** golden splits a golden file into its input and its expected section. */
function golden(text: string): { input: string; expected: string } {
  const at = text.indexOf(SEPARATOR);
  if (at < 0) throw new Error(`no '----------' line`);
  return { input: text.slice(0, at + 1), expected: text.slice(at + SEPARATOR.length) };
}

/** show renders diagnostics as the golden files write them; absolute paths become testdata-relative. */
function show(ds: readonly Diagnostic[], root: string): string {
  const local = (s: string): string => s.split(`${TESTDATA}/`).join('');
  return ds
    .map((d) => {
      const where = `${d.span.file === root ? '' : `${relative(TESTDATA, d.span.file)}:`}${d.span.line}:${d.span.col}`;
      const notes: string[] = [];
      for (let s = d.span.includedFrom; s; s = s.includedFrom) notes.push(`    note: included from ${relative(TESTDATA, s.file)}:${s.line}:${s.col}\n`);
      return `${where} ${d.code} ${local(d.message)}\n${notes.join('')}${d.help ? `    help: ${local(d.help)}\n` : ''}`;
    })
    .join('');
}

describe('diagnostics golden files (testdata/errors)', () => {
  const files = readdirSync(ERRORS)
    .filter((f) => f.endsWith('.gatetest'))
    .sort();

  it('has at least 35 cases', () => {
    assert.ok(files.length >= 35, `only ${files.length} golden files`);
  });

  for (const name of files) {
    it(name.replace(/\.gatetest$/, ''), async () => {
      const path = join(ERRORS, name);
      const text = readFileSync(path, 'utf8');
      const { input, expected } = golden(text);
      const root = join(ERRORS, name.replace(/\.gatetest$/, '.gate')); // relative includes resolve from errors/
      const actual = show(await checkGate(input, { file: root, env: ENV }), root);
      if (process.env.UPDATE_GOLDEN === '1') {
        writeFileSync(path, `${input}${SEPARATOR.slice(1)}${actual}`);
        return;
      }
      assert.equal(actual, expected);
    });
  }
});

describe('renderDiagnostic', () => {
  const site = 'route /static/ {\n    listen 80\n}\nserver {\n\n\n\n\n\n\n\n\n    route /a/ {\n        statik ./public\n    }\n}\n';
  const source = (f: string): string | undefined => (f === 'site.gate' ? site : undefined);

  it('prints FILE:LINE:COL, the quoted line, a caret run under the span and the help', () => {
    const d = error(
      'GK_DSL_UNKNOWN_DIRECTIVE',
      "unknown directive 'statik' in route",
      { file: 'site.gate', line: 14, col: 9, len: 6 },
      "did you mean 'static'?",
    );
    assert.equal(
      renderDiagnostic(d, source),
      [
        "site.gate:14:9: error: unknown directive 'statik' in route",
        '   14 |         statik ./public',
        '      |         ^^^^^^',
        "      = help: did you mean 'static'?",
      ].join('\n'),
    );
  });

  it('adds one note per include level, innermost first, before the help', () => {
    const root = { file: 'main.gate', line: 3, col: 9, len: 10 };
    const mid = { file: 'conf.d/a.gate', line: 1, col: 9, len: 8 };
    const d = error(
      'GK_DSL_MISPLACED',
      "directive 'listen' is not allowed in route",
      { file: 'site.gate', line: 2, col: 5, len: 6, includedFrom: { ...mid, includedFrom: root } },
      'x',
    );
    assert.equal(
      renderDiagnostic(d, source),
      [
        "site.gate:2:5: error: directive 'listen' is not allowed in route",
        '    2 |     listen 80',
        '      |     ^^^^^^',
        '      = note: included from conf.d/a.gate:1:9',
        '      = note: included from main.gate:3:9',
        '      = help: x',
      ].join('\n'),
    );
  });

  it('keeps at least one caret at the end of a line and never runs past it', () => {
    const atEnd = error('GK_DSL_UNBALANCED', 'x', { file: 'site.gate', line: 1, col: 17, len: 1 });
    assert.equal(renderDiagnostic(atEnd, source).split('\n')[2], '      |                 ^');
    const long = error('GK_DSL_BAD_ARG', 'x', { file: 'site.gate', line: 2, col: 12, len: 40 });
    assert.equal(renderDiagnostic(long, source).split('\n')[2], '      |            ^^');
  });

  it('widens the gutter for long files and shows tabs as one space so carets line up', () => {
    const lines = Array.from({ length: 123456 }, () => '');
    lines[123455] = '\tlisten\t80';
    const d = error('GK_DSL_BAD_ARG', 'x', { file: 'big.gate', line: 123456, col: 9, len: 2 });
    assert.deepEqual(renderDiagnostic(d, () => lines.join('\n')).split('\n'), ['big.gate:123456:9: error: x', ' 123456 |  listen 80', '        |         ^^']);
  });

  it('prints only the header and help when the file text is unknown, and a warning as a warning', () => {
    const d: Diagnostic = { code: 'GK_X', severity: 'warning', message: 'm', span: { file: 'gone.gate', line: 2, col: 1, len: 1 }, help: 'h' };
    assert.equal(renderDiagnostic(d, source), 'gone.gate:2:1: warning: m\n      = help: h');
  });
});

describe('didYouMean', () => {
  it('suggests the closest known name within a third of the word (at least two edits)', () => {
    assert.equal(didYouMean('statik', ['static', 'proxy', 'respond']), "did you mean 'static'?");
    assert.equal(didYouMean('respnd', ['static', 'respond']), "did you mean 'respond'?");
    assert.equal(didYouMean('content_typ', ['content_type']), "did you mean 'content_type'?");
    assert.equal(didYouMean('lisen', ['listen', 'route']), "did you mean 'listen'?");
  });

  it('prefers the nearer of two candidates, and the first of equals', () => {
    assert.equal(didYouMean('rout', ['respond', 'route', 'router']), "did you mean 'route'?");
    assert.equal(didYouMean('ab', ['ax', 'ay']), "did you mean 'ax'?");
  });

  it('says nothing when no name is close', () => {
    assert.equal(didYouMean('frobnicate', ['global', 'plugin', 'server']), undefined);
    assert.equal(didYouMean('xyz', ['static', 'proxy']), undefined);
    assert.equal(didYouMean('x', []), undefined);
  });

  it('counts insertions, deletions and substitutions', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('same', 'same'), 0);
  });
});
