import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  arg,
  directive,
  DONE,
  inject,
  injectable,
  LOGGER,
  PROCESS_INFO,
  HttpError,
  type AnyUnit,
  type Ctx,
  type Logger,
  type Next,
  type Plugin,
  type ProcessInfo,
} from '../../core/index.js';
import { loadConfig } from '../../core/load.js';
import { checkGate, startGate, testRoot, type TestGate } from '../helpers/gate.js';
import { rawRequest } from '../helpers/raw-http.js';
import { repoPath } from '../helpers/paths.js';

const events: string[] = [];

const tag = directive({ name: 'tag', kind: 'middleware', doc: 'Add X-Tag', schema: { args: [arg.string('value')] } });
const boom = directive({
  name: 'boom',
  kind: 'handler',
  doc: 'Fail',
  schema: { args: [arg.enum('how', { values: ['http', 'throw', 'silent', 'twice', 'done', 'badheader', 'badhook'] })] },
});
const lifecycle = directive({
  name: 'lifecycle',
  kind: 'middleware',
  doc: 'Record lifecycle',
  schema: { args: [arg.string('id'), arg.bool('fail', { optional: true, default: 'off' })] },
});

@injectable()
class TestPlugin implements Plugin {
  readonly name = 'test';
  readonly directives = [tag, boom, lifecycle];
  readonly variables = [{ name: 'tagged', doc: 'the last tag' }];
  constructor(
    @inject(LOGGER) private readonly log: Logger,
    @inject(PROCESS_INFO) readonly proc: ProcessInfo,
  ) {}

  create(d: string, config: unknown): AnyUnit {
    const c = config as { value: string; how: string; id: string; fail: boolean };
    if (d === 'tag') {
      return {
        handle: async (ctx: Ctx, next: Next) => {
          ctx.res.setHeader(`x-tag-${c.value}`, String(ctx.res.getHeaderNames().length));
          ctx.vars.set('tagged', c.value);
          await next();
        },
      };
    }
    if (d === 'lifecycle') {
      return {
        provision: async () => {
          events.push(`provision ${c.id}`);
          if (c.fail) throw new Error(`provision ${c.id} failed`);
        },
        handle: (_ctx: Ctx, next: Next) => next(),
        close: async () => {
          events.push(`close ${c.id}`);
        },
      };
    }
    const log = this.log;
    if (c.how === 'done') return { handle: () => DONE }; // claims an answer it never sent
    return {
      handle: async (ctx: Ctx, next: Next) => {
        if (c.how === 'http') throw new HttpError(418, 'short and stout');
        if (c.how === 'throw') throw new Error('kaboom');
        if (c.how === 'badhook') {
          ctx.onHead(() => {
            throw new Error('hook refused');
          });
          await ctx.send(200, 'never');
          return;
        }
        if (c.how === 'badheader') {
          ctx.res.writeHead(302, 'Found', { location: '/\u2603' });
          return;
        } // Node refuses the header
        if (c.how === 'twice') {
          await next();
          return;
        }
        log.info('silent');
      },
    };
  }
}

@injectable()
class TwicePlugin implements Plugin {
  readonly name = 'twice';
  readonly directives = [directive({ name: 'twice', kind: 'middleware', doc: 'next twice', schema: {} })];
  create(): AnyUnit {
    return {
      handle: async (_c: Ctx, next: Next) => {
        await next();
        await next();
      },
    };
  }
}

describe('plugins', () => {
  let gate: TestGate | undefined;
  let dir: string | undefined;
  beforeEach(() => {
    events.length = 0;
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('runs server middleware outside route middleware, outer first, and exposes plugin variables', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0; tag outer
      route /r/ { tag inner; respond "tagged=$tagged" }
    }`,
      { plugins: [TestPlugin] },
    );
    const res = await fetch(gate.url('/r/x'));
    assert.equal(res.headers.get('x-tag-outer'), '0');
    assert.equal(res.headers.get('x-tag-inner'), '1');
    assert.equal(await res.text(), 'tagged=inner');
  });

  it('renders HttpError as its status, any other error as 500 with a log line naming the request', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0
      route = /http { boom http }
      route = /throw { boom throw }
      route = /silent { boom silent }
      route = /done { boom done }
      route = /badheader { boom badheader }
      route = /badhook { boom badhook }
    }`,
      { plugins: [TestPlugin] },
    );
    const teapot = await fetch(gate.url('/http'));
    const teapotText = await teapot.text();
    assert.equal(teapot.status, 418);
    assert.match(teapotText, /^418 I'm a Teapot\nrequest id: \w+\n$/, 'the message is for the log unless exposed');
    assert.ok(
      gate.logs.some((l) => l.includes(` info short and stout request_id=${/request id: (\w+)/.exec(teapotText)![1]} `)),
      gate.logs.join('\n'),
    );
    const err = await fetch(gate.url('/throw?x=1'));
    assert.equal(err.status, 500);
    const errText = await err.text();
    assert.match(errText, /^500 Internal Server Error\nrequest id: \w+\n$/);
    const line = gate.logs.find((l) => l.includes(' error ') && l.includes('uri="/throw?x=1"'));
    assert.ok(line, gate.logs.join('\n'));
    assert.match(line, new RegExp(`request_id=${/request id: (\w+)/.exec(errText)![1]} method=GET uri="/throw\\?x=1" status=500 error="Error: kaboom`));
    const silent = await fetch(gate.url('/silent'));
    assert.equal(silent.status, 500);
    assert.ok(gate.logs.some((l) => l.includes('finished without sending a response')));
    const done = await fetch(gate.url('/done'));
    assert.deepEqual([done.status, (await done.text()).split('\n')[0]], [500, '500 Internal Server Error']);
    assert.ok(
      gate.logs.some((l) => l.includes('finished without sending a response') && l.includes('uri=/done')),
      gate.logs.join('\n'),
    );
    const bad = await rawRequest(gate.port, 'GET /badheader HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(bad.text, /^HTTP\/1\.1 500 Internal Server Error\r\n/, 'not the reason phrase of the writeHead that threw');
    const hook = await rawRequest(gate.port, 'GET /badhook HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.deepEqual([hook.text, hook.closed], ['', true], 'no answer can be written: the connection is cut');
    assert.ok(
      gate.logs.some((l) => l.includes('could not answer with an error response') && l.includes('hook refused')),
      gate.logs.join('\n'),
    );
    assert.equal((await fetch(gate.url('/http'))).status, 418); // still serving
  });

  it('answers 404 when a handler calls next(), and logs a middleware that calls next() twice', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0
      route = /next { boom twice }
      route = /twice { twice; respond "x" }
    }`,
      { plugins: [TestPlugin, TwicePlugin] },
    );
    assert.equal((await fetch(gate.url('/next'))).status, 404);
    await fetch(gate.url('/twice'))
      .then((r) => r.text())
      .catch(() => 'reset'); // the first pass already answered
    assert.ok(
      gate.logs.some((l) => / error .*next\(\) called twice/.test(l)),
      gate.logs.join('\n'),
    );
  });

  it('provisions units in order and closes them in reverse, also after a failed provision', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; lifecycle a; route / { lifecycle b; respond "x" } }', { plugins: [TestPlugin] });
    await gate.close();
    gate = undefined;
    assert.deepEqual(events, ['provision a', 'provision b', 'close b', 'close a']);
    events.length = 0;
    await assert.rejects(
      startGate('server { listen 127.0.0.1:0; lifecycle a; route / { lifecycle b on; lifecycle c; respond "x" } }', { plugins: [TestPlugin] }),
      /provision b failed/,
    );
    assert.deepEqual(events, ['provision a', 'provision b', 'close c', 'close b', 'close a']);
  });

  it('injects services by token: logger and process info', async () => {
    const root = testRoot([TestPlugin]);
    const loaded = await loadConfig('t.gate', { root, text: 'server { listen 127.0.0.1:0; route / { boom silent } }', env: {} });
    assert.ok(loaded.config);
    const p = loaded.registry!.plugin('test') as TestPlugin;
    assert.equal(p.proc.pid, process.pid);
    assert.throws(() => p.proc.runDir, /only checked/); // schema-time instances have no run folder
  });

  it('refuses two plugins that declare the same directive, with a diagnostic', async () => {
    @injectable()
    class Clash implements Plugin {
      readonly name = 'clash';
      readonly directives = [directive({ name: 'respond', kind: 'handler', doc: 'x', schema: {} })];
      create(): AnyUnit {
        return {};
      }
    }
    const diags = await checkGate('server { listen 80; respond "x" }', { plugins: [Clash] });
    assert.equal(diags[0].code, 'GK_DIRECTIVE_DUPLICATE');
    assert.match(diags[0].message, /'respond' is declared by both 'respond' and 'clash'/);
  });

  it('refuses a plugin whose requires are not loaded', async () => {
    @injectable()
    class Needy implements Plugin {
      readonly name = 'needy';
      readonly requires = ['proxy-cache'];
      readonly directives = [];
      create(): AnyUnit {
        return {};
      }
    }
    const diags = await checkGate('server { listen 80; respond "x" }', { plugins: [Needy] });
    assert.equal(diags[0].code, 'GK_PLUGIN_REQUIRES');
  });

  it('loads a third-party plugin from a path with the plugin directive', async () => {
    gate = await startGate(`plugin ${repoPath('samples', 'hello-plugin')}
      server { listen 127.0.0.1:0; route ~ ^/to/(\\w+) { hello $1 { greeting Hey } }; hello }`);
    assert.equal(await (await fetch(gate.url('/to/Ann'))).text(), 'Hey, Ann!\n');
    assert.equal(await (await fetch(gate.url('/'))).text(), 'Hello, world!\n');
  });

  it('loads a third-party plugin by npm package name from node_modules beside the config', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-pkg-'));
    mkdirSync(join(dir, 'node_modules'));
    cpSync(repoPath('samples', 'hello-plugin'), join(dir, 'node_modules', 'gatekit-plugin-hello'), { recursive: true });
    const file = join(dir, 'site.gate');
    writeFileSync(file, 'plugin gatekit-plugin-hello\nserver { listen 127.0.0.1:0; hello { shout on } }\n');
    gate = await startGate('plugin gatekit-plugin-hello\nserver { listen 127.0.0.1:0; hello { shout on } }\n', { file });
    assert.equal(await (await fetch(gate.url('/'))).text(), 'HELLO, WORLD!\n');
  });

  it('checks third-party directives against their schema and runs the validate() of those that checked clean, beside the errors', async () => {
    const diags = await checkGate(`plugin ${repoPath('samples', 'hello-plugin')}
server { listen 80; hello { greting Hi } }
server { listen 81; hello { greeting "" } }`);
    assert.deepEqual(
      diags.map((d) => [d.code, d.span.line, d.span.col]),
      [
        ['GK_DSL_UNKNOWN_OPTION', 2, 29],
        ['HELLO_EMPTY', 3, 21],
      ],
    );
    assert.equal(diags[0].help, "did you mean 'greeting'?");
    assert.equal(diags[1].message, "empty 'greeting'");
  });

  it('reports a plugin that cannot be found or is not a plugin at its argument', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-bad-'));
    writeFileSync(join(dir, 'notaplugin.js'), 'export const x = 1;\n');
    const file = join(dir, 'site.gate');
    const diags = await checkGate('plugin ./missing\nplugin ./notaplugin.js\nplugin no-such-package-xyz\nserver { listen 80; respond "x" }', { file });
    assert.deepEqual(
      diags.map((d) => [d.code, d.span.line, d.span.col]),
      [
        ['GK_PLUGIN_LOAD', 1, 8],
        ['GK_PLUGIN_LOAD', 2, 8],
        ['GK_PLUGIN_LOAD', 3, 8],
      ],
    );
    assert.match(diags[1].help!, /must export a plugin class/);
    assert.match(diags[2].help!, /package 'no-such-package-xyz' is not installed/);
  });
});
