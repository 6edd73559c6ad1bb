import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { container } from 'tsyringe';
import { resolvePlugins, schemaContainer } from '../../core/container.js';
import { checkPlugin } from '../../core/plugin-check.js';
import { spanOf } from '../../dsl/spans.js';
import { registerBuiltins } from '../../plugins/index.js';
import { checkGate, loadTestGate, startGate, type TestGate } from '../helpers/gate.js';
import { runCli } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';

const run = promisify(execFile);
const TYPED_SOURCE = repoPath('test', 'fixtures', 'typed-plugin.ts');
const TYPED_BUILT = repoPath('dist', 'test', 'fixtures', 'typed-plugin.js');

/** tscAlone compiles one file with the project's compiler options and nothing else; resolves with tsc's exit code and output. */
async function tscAlone(file: string): Promise<{ code: number; out: string }> {
  const tsc = repoPath('node_modules', '@typescript/native', 'bin', 'tsc'); // TypeScript 7, the compiler the build uses
  const args = [
    tsc,
    '--noEmit',
    '--strict',
    '--target',
    'ES2022',
    '--module',
    'NodeNext',
    '--moduleResolution',
    'NodeNext',
    '--experimentalDecorators',
    '--emitDecoratorMetadata',
    '--skipLibCheck',
    '--typeRoots',
    repoPath('node_modules', '@types'),
    '--types',
    'node',
    file,
  ];
  try {
    const r = await run(process.execPath, args, { cwd: dirname(file) }); // no tsconfig.json there: only the file and what it imports
    return { code: 0, out: r.stdout };
  } catch (e) {
    const x = e as { code: number; stdout: string };
    return { code: x.code, out: x.stdout };
  }
}

describe('plugin contract', () => {
  let dir: string;
  let gate: TestGate | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-contract-'));
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('compiles a typed plugin alone with tsc (factories get ConfigOf, no casts), and refuses a mistake in its config types', async function () {
    this.timeout(120_000);
    const text = readFileSync(TYPED_SOURCE, 'utf8').replace("'../../core/index.js'", `'${repoPath('core', 'index.js')}'`);
    const file = join(dir, 'plugin.ts');
    const wrongLine = text.split('\n').length + 1;
    writeFileSync(file, `${text}\nexport function wrong(c: GreetConfig): string { return c.times; }\n`);
    const r = await tscAlone(file);
    assert.notEqual(r.code, 0, r.out);
    // The only error is the appended one: the plugin itself, and each of its @ts-expect-error mistakes, type-check as intended.
    assert.deepEqual(
      r.out
        .trim()
        .split('\n')
        .filter((l) => l.includes('error TS'))
        .map((l) => l.replace(/^.*plugin\.ts/, '')),
      [`(${wrongLine},49): error TS2322: Type 'number' is not assignable to type 'string'.`],
    );
  });

  it('loads a typed plugin with the plugin directive: nested options and defaults reach its factories', async () => {
    gate = await startGate(`plugin ${TYPED_BUILT}
server {
    listen 127.0.0.1:0
    route /plain { stamp one; greet }
    route /styled { greet Ann { times 2; mood loud; style { punctuation "?" } } }
}`);
    const plain = await fetch(gate.url('/plain'));
    assert.equal(plain.headers.get('x-stamp'), 'one');
    assert.equal(await plain.text(), 'Hello, world.');
    assert.equal(await (await fetch(gate.url('/styled'))).text(), 'HELLO, Ann? (2s) HELLO, Ann? (2s)');
  });

  it('passes every built-in plugin through the check third-party plugins get (their defaults parse)', () => {
    const root = container.createChildContainer();
    registerBuiltins(root);
    const plugins = resolvePlugins(schemaContainer(root));
    assert.ok(plugins.length >= 15);
    for (const p of plugins) assert.deepEqual(checkPlugin(p), [], p.name);
  });

  it('applies option defaults in the kernel, in nested blocks too, and records no span for a value not written', async () => {
    const loaded = await loadTestGate('server { listen 80; proxy http://127.0.0.1:9 { keepalive 4; health_check /h { timeout 1s } } }');
    const cfg = loaded.config!.servers[0].routes[0].handler!.config as Record<string, unknown> & { health_check: Record<string, unknown> };
    assert.equal(cfg.keepalive, 4);
    assert.equal(cfg.keepalive_timeout, 30_000);
    assert.equal((cfg.balance as { policy: string }).policy, 'round_robin');
    assert.equal(cfg.preserve_host, true);
    assert.deepEqual([cfg.health_check.interval, cfg.health_check.timeout], [10_000, 1000]);
    assert.ok(spanOf(cfg, 'keepalive'));
    assert.equal(spanOf(cfg, 'keepalive_timeout'), undefined);
  });

  it("reports each mistake in a third-party plugin's schema at its plugin line, naming the file and the field", async () => {
    const plugins: Record<string, string> = {
      integer: "{ name: 'count', kind: 'handler', doc: 'd', schema: { args: [{ name: 'n', type: 'integer' }] } }",
      nokind: "{ name: 'nokind', doc: 'd', schema: {} }",
      handlr: "{ name: 'typo', kind: 'handlr', doc: 'd', schema: {} }",
      defualt: "{ name: 'opt', kind: 'middleware', doc: 'd', schema: { options: [{ name: 'wait', defualt: '5s', args: [{ name: 't', type: 'duration' }] }] } }",
      parsecs:
        "{ name: 'far', kind: 'middleware', doc: 'd', schema: { options: [{ name: 'wait', default: '5 parsecs', args: [{ name: 't', type: 'duration' }] }] } }",
    };
    for (const [name, spec] of Object.entries(plugins)) {
      writeFileSync(
        join(dir, `${name}.js`),
        `export default class P { constructor() { this.name = '${name}'; this.directives = [${spec}]; } create() { return { handle: async () => {} }; } }\n`,
      );
    }
    writeFileSync(join(dir, 'throws.js'), "export default class P { constructor() { throw new Error('no database'); } }\n");
    const names = [...Object.keys(plugins), 'throws'];
    const text = `${names.map((n) => `plugin ./${n}.js`).join('\n')}\nserver { listen 80; route /a { count 3 } route /b { respond "ok" } }\n`;
    writeFileSync(join(dir, 'site.gate'), text);
    const diags = await checkGate(text, { file: join(dir, 'site.gate') });
    assert.deepEqual(
      diags.map((d) => [d.code, d.span.line, d.message.replace(`${dir}/`, ''), d.help]),
      [
        [
          'GK_PLUGIN_SCHEMA',
          1,
          "plugin './integer.js' (integer.js): directive 'count' schema.args[0].type: unknown argument type 'integer'",
          "did you mean 'int'?",
        ],
        [
          'GK_PLUGIN_SCHEMA',
          2,
          "plugin './nokind.js' (nokind.js): directive 'nokind' kind: missing 'kind'",
          'one of handler, middleware, certificate, server, global',
        ],
        ['GK_PLUGIN_SCHEMA', 3, "plugin './handlr.js' (handlr.js): directive 'typo' kind: unknown kind 'handlr'", "did you mean 'handler'?"],
        [
          'GK_PLUGIN_SCHEMA',
          4,
          "plugin './defualt.js' (defualt.js): directive 'opt' schema.options[0].defualt: unknown field 'defualt'",
          "did you mean 'default'?",
        ],
        [
          'GK_PLUGIN_SCHEMA',
          5,
          "plugin './parsecs.js' (parsecs.js): directive 'far' schema.options[0].default: default '5 parsecs' is not a valid value: invalid duration '5 parsecs' (expected a duration like 250ms, 30s, 5m, 1h or 1d)",
          undefined,
        ],
        [
          'GK_PLUGIN_SCHEMA',
          6,
          "plugin './throws.js' (throws.js): its constructor failed: no database",
          'a plugin constructor only stores its services; work belongs in provision()',
        ],
        ['GK_PLUGIN_UNAVAILABLE', 7, "'count' cannot be checked: its plugin did not load", `see the error at ${join(dir, 'site.gate')}:1:8`],
      ],
    );
    const cli = await runCli(['check', join(dir, 'site.gate')]);
    assert.equal(cli.code, 1);
    assert.doesNotMatch(cli.stderr, /internal error|TypeError/);
    assert.match(
      cli.stderr,
      /site\.gate:1:8: error: plugin '\.\/integer\.js' \(.*integer\.js\): directive 'count' schema\.args\[0\]\.type: unknown argument type 'integer'/,
    );
  });

  it('shows a kind or type that is no word as Node prints it, never as [object Object]', async () => {
    writeFileSync(
      join(dir, 'objects.js'),
      "export default class P { constructor() { this.name = 'objects'; this.directives = [{ name: 'odd', kind: { handler: true }, doc: 'd', " +
        "schema: { args: [{ name: 'n', type: ['int'] }] } }]; } create() { return { handle: async () => {} }; } }\n",
    );
    const diags = await checkGate('plugin ./objects.js\nserver { listen 80; respond "x" }\n', { file: join(dir, 'site.gate') });
    assert.deepEqual(
      diags.map((d) => d.message.replace(`${dir}/`, '')),
      [
        "plugin './objects.js' (objects.js): directive 'odd' kind: unknown kind '{ handler: true }'",
        "plugin './objects.js' (objects.js): directive 'odd' schema.args[0].type: unknown argument type '[ 'int' ]'",
      ],
    );
  });

  it('refuses a plain-JavaScript handler whose unit has no handle(), naming the plugin and directive', async () => {
    writeFileSync(
      join(dir, 'nohandle.js'),
      "export default class P { constructor() { this.name = 'nohandle'; this.directives = [{ name: 'idle', kind: 'handler', doc: 'd', schema: {} }]; } create() { return {}; } }\n",
    );
    const diags = await checkGate('plugin ./nohandle.js\nserver { listen 80; idle }\n', { file: join(dir, 'site.gate') });
    assert.deepEqual(
      diags.map((d) => [d.code, d.span.line, d.message]),
      [['GK_PLUGIN_CREATE', 2, "'idle' could not be set up: the handler unit plugin 'nohandle' made for 'idle' has no handle()"]],
    );
  });
});
