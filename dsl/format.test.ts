import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoPath } from '../test/helpers/paths.js';
import type { Directive, GateFile } from './ast.js';
import type { Diagnostic } from './diagnostics.js';
import { formatGate } from './format.js';
import { parseText } from './to-ast.js';

function parse(text: string): GateFile {
  const diags: Diagnostic[] = [];
  const f = parseText(text, 'f.gate', diags);
  assert.deepEqual(
    diags.map((d) => `${d.span.line}:${d.span.col} ${d.message}`),
    [],
    'the input parses cleanly',
  );
  return f;
}

function fmt(text: string): string {
  return formatGate(parse(text), text);
}

/** meaning is a parsed file without positions: names, arguments as written, blocks, and comment texts. */
function meaning(text: string): unknown {
  const strip = (ds: readonly Directive[]): unknown[] =>
    ds.map((d) => ({
      name: d.name,
      args: d.args.map((a) => ({ raw: a.raw, value: a.value, quoted: a.quoted })),
      ...(d.block ? { block: strip(d.block) } : {}),
    }));
  const f = parse(text);
  return { directives: strip(f.directives), comments: f.comments.map((c) => c.text.trimEnd()) };
}

/** assertCanonical checks that formatting keeps the meaning and that formatting twice changes nothing. */
function assertCanonical(text: string): void {
  const once = fmt(text);
  assert.deepEqual(meaning(once), meaning(text));
  assert.equal(fmt(once), once);
}

function gateFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = join(dir, e.name);
      return e.isDirectory() ? gateFiles(p) : e.name.endsWith('.gate') ? [p] : [];
    })
    .sort();
}

// Comments everywhere, blank-line runs, `;`-joined directives, one-line blocks that fit and one that does not.
const TRICKY = `# header comment


# second header after blank lines
global {   # after open
    # inside first
    workers auto # trailing on workers



    graceful_timeout 30s
    # last inside
}   # after close
server   example.com {listen 8080 ; listen 8443 tls   # trailing after two
    route /a/ { respond "a" }    # one-line block that fits
    route /b/ { respond 200 "a fairly long body that will not fit on one line when indented" { content_type text/plain } }
    route /c/ { # comment inside a one-line block
        respond c }
    respond "x";respond "y"   # joined
\t\troute /d/ {}
    route /e/ {
    }
}
# between
server{listen 9090;respond ok}
# trailing at end of file
`;

const TRICKY_FORMATTED = `# header comment

# second header after blank lines
global {  # after open
    # inside first
    workers auto  # trailing on workers

    graceful_timeout 30s
    # last inside
}  # after close
server example.com {
    listen 8080
    listen 8443 tls  # trailing after two
    route /a/ { respond "a" }  # one-line block that fits
    route /b/ {
        respond 200 "a fairly long body that will not fit on one line when indented" {
            content_type text/plain
        }
    }
    route /c/ {  # comment inside a one-line block
        respond c
    }
    respond "x"
    respond "y"  # joined
    route /d/ {}
    route /e/ {
    }
}
# between
server { listen 9090; respond ok }
# trailing at end of file
`;

describe('formatGate', () => {
  it('prints a messy file in canonical layout, keeping every comment where it stood', () => {
    assert.equal(fmt(TRICKY), TRICKY_FORMATTED);
  });

  it('is idempotent and keeps the meaning of the tricky file', () => {
    assertCanonical(TRICKY);
  });

  it('prints nothing for an empty file and keeps a file of only comments', () => {
    assert.equal(fmt(''), '');
    assert.equal(fmt('\n\n'), '');
    assert.equal(fmt('  # a\n\n\n# b  \n'), '# a\n\n# b\n');
  });

  it('writes LF line ends for a CRLF file', () => {
    assert.equal(fmt('global {\r\n\tworkers 2  # two\r\n}\r\n'), 'global {\n    workers 2  # two\n}\n');
  });

  it('keeps arguments exactly as written: quotes, escapes, env references and variables', () => {
    const text = 'server { respond "a \\"b\\"\\t$host" x${A:-1}y; route ~ "^/a{2}$" { respond $1 } }\n';
    assert.equal(fmt(text), text);
  });

  describe('is idempotent and keeps the meaning of', () => {
    const ast = repoPath('dsl', 'testdata', 'ast');
    for (const name of readdirSync(ast)
      .filter((f) => f.endsWith('.gatetest'))
      .sort()) {
      it(`testdata/ast/${name}`, () => {
        const text = readFileSync(join(ast, name), 'utf8');
        assertCanonical(text.slice(0, text.indexOf('\n----------\n') + 1));
      });
    }
    for (const file of gateFiles(repoPath('samples'))) {
      it(relative(repoPath(), file), () => assertCanonical(readFileSync(file, 'utf8')));
    }
  });

  it('is idempotent and keeps the meaning of generated files with comments and terminators anywhere', () => {
    let seed = 7;
    const pick = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const gen = (depth: number): string => {
      let s = '';
      for (let i = pick(4); i > 0; i--) {
        if (pick(4) === 0) s += `# c${pick(9)}\n`;
        s += ['a', 'b', 'route', 'respond'][pick(4)];
        for (let j = pick(3); j > 0; j--) s += ` ${['x', '"y z"', '/p/', '${E}'][pick(4)]}`;
        if (depth < 3 && pick(3) === 0) s += ` {${[' ', '\n', ' # o\n'][pick(3)]}${gen(depth + 1)}${[' ', '\n', ' # e\n'][pick(3)]}}`;
        s += ['\n', '; ', ' # t\n', '\n\n\n', ';'][pick(5)];
      }
      return s;
    };
    for (let n = 0; n < 1000; n++) {
      const text = gen(0);
      try {
        assertCanonical(text);
      } catch (e) {
        throw new Error(`input ${JSON.stringify(text)}: ${(e as Error).message}`, { cause: e });
      }
    }
  });
});
