import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CompletionItem, Diagnostic, DocumentSymbol, Hover, Location, TextEdit } from 'vscode-languageserver-protocol/node';
import { runCli } from '../helpers/cli.js';
import { startLsp, type LspSession } from '../helpers/lsp-client.js';
import { repoPath } from '../helpers/paths.js';

const SITE = `snippet health {
    route = /health { respond 200 "ok" }
}
include sites/*.gate
server {
    listen 127.0.0.1:0
    import health
    route /files/ { static ./www { browse maybe } }
    route / { respond 200 "$hots" }
}
`;

const BROKEN_SITE = `server shop.test {
    listen 127.0.0.1:0
    route / { proxy http://127.0.0.1:9 { retries many } }
}
`;

/** checkLines runs `gatekit check` and returns where its diagnostics are: FILE:LINE:COL severity. */
async function checkLines(file: string): Promise<string[]> {
  const r = await runCli(['check', file]);
  return [...r.stderr.matchAll(/^(.+):(\d+):(\d+): (error|warning): /gm)].map((m) => `${m[1]}:${m[2]}:${m[3]} ${m[4]}`).sort();
}

/** textOf is a diagnostic's message as text (LSP 3.18 allows Markdown there; gatekit sends plain strings). */
const textOf = (d: Diagnostic): string => (typeof d.message === 'string' ? d.message : d.message.value);
describe('gatekit lsp', function () {
  this.timeout(20000);
  let dir: string;
  let lsp: LspSession | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-lsp-'));
    mkdirSync(join(dir, 'sites'));
    mkdirSync(join(dir, 'www'));
    writeFileSync(join(dir, 'sites', 'shop.gate'), BROKEN_SITE);
  });
  afterEach(async () => {
    await lsp?.stop();
    lsp = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const pos = (line: number, character: number) => ({ line, character });

  it('publishes the diagnostics of gatekit check as the text changes, includes resolved', async () => {
    const file = write('site.gate', SITE);
    lsp = await startLsp(dir);
    const uri = lsp.open(file, SITE);
    const diags = await lsp.diagnostics(uri);
    const own = diags
      .filter((d) => !textOf(d).startsWith('in '))
      .map((d) => `${file}:${d.range.start.line + 1}:${d.range.start.character + 1} ${d.severity === 1 ? 'error' : 'warning'}`);
    const inIncluded = diags.filter((d) => textOf(d).startsWith(`in ${join(dir, 'sites', 'shop.gate')}:3:`));
    const expected = await checkLines(file);
    assert.deepEqual(
      own.sort(),
      expected.filter((l) => l.startsWith(file)),
    );
    assert.equal(inIncluded.length, expected.filter((l) => !l.startsWith(file)).length, JSON.stringify(diags));
    assert.ok(
      inIncluded.every((d) => d.range.start.line === 3),
      'shown on the include line',
    );
    assert.ok(
      diags.some((d) => d.code === 'GK_DSL_UNKNOWN_VARIABLE' && /did you mean '\$host'/.test(textOf(d))),
      JSON.stringify(diags),
    );

    const fixed = SITE.replace('browse maybe', 'browse on').replace('$hots', '$host').replace('include sites/*.gate\n', '');
    lsp.change(uri, fixed, 2);
    assert.deepEqual(await lsp.diagnostics(uri, 2), []);
  });

  it('checks an included file with its unsaved text from the editor', async () => {
    const file = write('site.gate', 'include sites/shop.gate\n');
    lsp = await startLsp(dir);
    const uri = lsp.open(file, 'include sites/shop.gate\n');
    assert.ok((await lsp.diagnostics(uri)).length > 0);
    const shop = lsp.open(join(dir, 'sites', 'shop.gate'), BROKEN_SITE.replace('retries many', 'retries 2'));
    await lsp.diagnostics(shop);
    lsp.change(uri, 'include sites/shop.gate\n', 2);
    assert.deepEqual(await lsp.diagnostics(uri, 2), []);
  });

  it('reads a gatekit test file as gatekit test does', async () => {
    const text = 'expect GET / { status 200 }\nexpect get /x { status 200 }\n';
    const file = write('site.gate.test', text);
    lsp = await startLsp(dir);
    const uri = lsp.open(file, text);
    assert.deepEqual(
      (await lsp.diagnostics(uri)).map((d) => [d.code, d.range.start.line, d.range.start.character]),
      [['GK_TEST_BAD_ARGS', 1, 7]],
    );
  });

  it('completes and explains the words of a gatekit test file', async () => {
    const text = 'expect GET /x {\n    \n    handler \n    request_header Accept gzip\n}\n\nexpect \n';
    const file = write('site.gate.test', text);
    lsp = await startLsp(dir);
    const uri = lsp.open(file, text);
    await lsp.diagnostics(uri);
    const labels = async (line: number, ch: number): Promise<string[]> =>
      (await lsp!.conn.sendRequest<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position: pos(line, ch) })).map((i) => i.label);
    const inBlock = await labels(1, 4);
    for (const w of ['status', 'header', 'no_header', 'body', 'request_header', 'request_basic_auth', 'request_body', 'repeat'])
      assert.ok(inBlock.includes(w), `${w} in ${inBlock}`);
    assert.ok(!inBlock.includes('server') && !inBlock.includes('expect'), String(inBlock));
    const handlers = await labels(2, 12);
    for (const h of ['proxy', 'static', 'respond', 'none']) assert.ok(handlers.includes(h), `${h} in ${handlers}`);
    assert.deepEqual(await labels(5, 0), ['expect']);
    assert.ok((await labels(6, 7)).includes('POST'));
    const h = await lsp.conn.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: pos(3, 8) });
    assert.match((h?.contents as { value: string } | undefined)?.value ?? '', /`request_header NAME VALUE`[\s\S]*Send this request header/);
  });

  it('explains directives, options, arguments and variables on hover', async () => {
    const file = write('site.gate', SITE);
    lsp = await startLsp(dir);
    const uri = lsp.open(file, SITE);
    await lsp.diagnostics(uri);
    const hover = async (line: number, ch: number): Promise<string> => {
      const h = await lsp!.conn.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: pos(line, ch) });
      return h ? (h.contents as { value: string }).value : '';
    };
    assert.match(await hover(7, 22), /static ROOT \{ \.\.\. \}[\s\S]*Serve files from ROOT[\s\S]*handler directive of plugin `static`/);
    assert.match(await hover(7, 36), /List a directory that has no index file[\s\S]*default: `off`/);
    assert.match(await hover(5, 5), /listen/);
    assert.equal(await hover(8, 28), '', 'an unknown variable has no doc');
    assert.match(await hover(8, 32), /`BODY` of `respond`: template, optional/);
    const scheme = SITE.replace('$hots', '$scheme');
    lsp.change(uri, scheme, 2);
    await lsp.diagnostics(uri, 2);
    assert.match(await hover(8, 29), /`\$scheme`: http or https/);
    assert.match(await hover(6, 5), /writes the block of `snippet NAME` here/);
  });

  it('completes directives, options, enum values and variables valid at the cursor', async () => {
    const text = 'server {\n    \n    route / { static ./www { browse  } }\n    route /a { respond 200 "$" }\n}\n';
    const file = write('site.gate', text);
    lsp = await startLsp(dir);
    const uri = lsp.open(file, text);
    await lsp.diagnostics(uri);
    const labels = async (line: number, ch: number): Promise<string[]> =>
      (await lsp!.conn.sendRequest<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position: pos(line, ch) })).map((i) => i.label);
    const inServer = await labels(1, 4);
    for (const d of ['listen', 'route', 'proxy', 'static', 'tls', 'import']) assert.ok(inServer.includes(d), `${d} in ${inServer}`);
    assert.ok(!inServer.includes('workers') && !inServer.includes('snippet'), 'global settings belong in global');
    const inStatic = await labels(2, 29);
    assert.ok(inStatic.includes('index') && inStatic.includes('browse') && !inStatic.includes('route'), String(inStatic));
    assert.deepEqual(await labels(2, 36), ['on', 'off']);
    const vars = await labels(3, 29);
    for (const v of ['host', 'scheme', 'request_id', 'http_', 'upstream']) assert.ok(vars.includes(v), `${v} in ${vars}`);
    const top = await labels(5, 0);
    assert.ok(top.includes('server') && top.includes('global') && top.includes('snippet') && !top.includes('route'), String(top));
  });

  it('goes to the definition of include, import and plugin', async () => {
    cpSync(repoPath('samples', 'hello-plugin'), join(dir, 'hello-plugin'), { recursive: true });
    const text = `${SITE}plugin ./hello-plugin\n`;
    const file = write('site.gate', text);
    lsp = await startLsp(dir);
    const uri = lsp.open(file, text);
    await lsp.diagnostics(uri);
    const def = (line: number, ch: number) => lsp!.conn.sendRequest<Location[]>('textDocument/definition', { textDocument: { uri }, position: pos(line, ch) });
    assert.deepEqual(
      (await def(3, 12)).map((l) => l.uri),
      [pathToFileURL(join(dir, 'sites', 'shop.gate')).href],
    );
    assert.deepEqual(await def(6, 13), [{ uri, range: { start: pos(0, 8), end: pos(0, 14) } }]);
    assert.deepEqual(
      (await def(10, 12)).map((l) => l.uri),
      [pathToFileURL(join(dir, 'hello-plugin', 'index.js')).href],
    );
  });

  it('knows the directives of the third-party plugins the file loads', async () => {
    cpSync(repoPath('samples', 'hello-plugin'), join(dir, 'hello-plugin'), { recursive: true });
    const text = 'plugin ./hello-plugin\nserver {\n    listen 127.0.0.1:0\n    route / { hello { shout maybe } }\n}\n';
    const file = write('site.gate', text);
    lsp = await startLsp(dir);
    const uri = lsp.open(file, text);
    const diags = await lsp.diagnostics(uri);
    assert.deepEqual(
      diags.map((d) => [d.code, d.range.start.line]),
      [['GK_DSL_BAD_ARG', 3]],
    );
    const items = await lsp.conn.sendRequest<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position: pos(3, 22) });
    assert.deepEqual(items.map((i) => i.label).sort(), ['greeting', 'shout']);
    const h = await lsp.conn.sendRequest<Hover>('textDocument/hover', { textDocument: { uri }, position: pos(3, 15) });
    assert.match((h.contents as { value: string }).value, /Greet the visitor[\s\S]*plugin `hello`/);
  });

  it('outlines servers, routes and snippets, and formats as gatekit fmt', async () => {
    const text = 'snippet health {\n  route = /health { respond 200 }\n}\nserver  shop.test   {\n listen 8080\n  route /api/ {\n respond 200 }\n}\n';
    const file = write('site.gate', text);
    lsp = await startLsp(dir);
    const uri = lsp.open(file, text);
    const symbols = await lsp.conn.sendRequest<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri } });
    const names = (ss: DocumentSymbol[]): unknown[] => ss.map((s) => (s.children?.length ? [s.name, names(s.children)] : s.name));
    assert.deepEqual(names(symbols), [
      ['snippet health', ['route = /health']],
      ['server shop.test', ['route /api/']],
    ]);
    const edits = await lsp.conn.sendRequest<TextEdit[]>('textDocument/formatting', { textDocument: { uri }, options: { tabSize: 4, insertSpaces: true } });
    const fmt = await runCli(['fmt', file]);
    assert.equal(edits.length, 1);
    assert.equal(edits[0].newText, fmt.stdout);
  });
});
