/** PluginSkeleton is what `gatekit new plugin` writes: the package's files by relative path. */
export type PluginSkeleton = ReadonlyMap<string, string>;

/** SkeletonOptions name the plugin and say which language it is written in. */
export interface SkeletonOptions {
  /** name is the directive name (a word: letters, digits, _). */
  readonly name: string;
  readonly typescript: boolean;
  /** version is the gatekit-server version the package depends on. */
  readonly version: string;
  /**
   * source is the folder of the gatekit that writes the package when it runs from a clone (not
   * from an installed package): the dev dependency then points at it, so `npm install` works
   * before, or without, gatekit-server on the registry.
   */
  readonly source?: string;
}

const schemaOf = (name: string): string => `{
  name: '${name}', kind: 'handler',
  doc: 'Answer with a greeting: ${name} [NAME] { greeting TEXT }',
  schema: {
    args: [{ name: 'who', type: 'template', optional: true, default: 'world' }],
    options: [{ name: 'greeting', doc: 'The word before the name', default: 'Hello', args: [{ name: 'text', type: 'string' }] }],
  },
}`;

const JS_PLUGIN = (o: SkeletonOptions): string => `// A gatekit plugin in plain JavaScript: no build step, no decorators.
const LOGGER = Symbol.for('gatekit.logger'); // the token \`LOGGER\` of gatekit-server

/** The schema is plain data: gatekit checks \`${o.name}\` against it before the plugin sees it. */
const ${o.name} = ${schemaOf(o.name)};

class ${unitClass(o.name)} {
  constructor(config, at, log) { this.config = config; this.at = at; this.log = log; }

  /** validate runs at \`gatekit check\`: rules a schema cannot say. */
  validate() {
    if (this.config.greeting.trim() === '') return [{ code: 'EMPTY_GREETING', severity: 'error', message: 'empty greeting', span: this.at }];
    return [];
  }

  /** provision runs once per worker before it serves: open files, connect pools. */
  async provision() { this.log.debug('${o.name} ready'); }

  /** handle answers one request. */
  async handle(ctx) {
    await ctx.send(200, \`\${this.config.greeting}, \${ctx.render(this.config.who)}!\\n\`, { 'content-type': 'text/plain; charset=utf-8' });
  }

  /** close runs when the worker stops or reloads: release what provision took. */
  async close() {}
}

export default class ${pluginClass(o.name)} {
  static inject = [LOGGER];
  name = '${o.name}';
  directives = [${o.name}];
  constructor(log) { this.log = log; }
  /** create makes one unit per occurrence of the directive, its config checked and defaults applied. */
  create(directive, config, at) { return new ${unitClass(o.name)}(config, at, this.log); }
}
`;

const TS_PLUGIN = (
  o: SkeletonOptions,
): string => `import { arg, bind, diagnostic, directive, inject, injectable, LOGGER, type Ctx, type Diagnostic, type Logger, type Plugin } from 'gatekit-server';

const ${o.name} = directive({
  name: '${o.name}', kind: 'handler',
  doc: 'Answer with a greeting: ${o.name} [NAME] { greeting TEXT }',
  schema: {
    args: [arg.template('who', { optional: true, default: 'world' })],
    options: [{ name: 'greeting', doc: 'The word before the name', default: 'Hello', args: [arg.string('text')] }],
  },
});

@injectable()
export default class ${pluginClass(o.name)} implements Plugin {
  readonly name = '${o.name}';
  readonly directives = [
    // config is typed from the schema: { who: TemplateLike; greeting: string }
    bind(${o.name}, (config, at) => ({
      validate: (): Diagnostic[] => (config.greeting.trim() === '' ? [diagnostic('EMPTY_GREETING', 'empty greeting', at)] : []),
      provision: async () => { this.log.debug('${o.name} ready'); },
      handle: async (ctx: Ctx) => {
        await ctx.send(200, \`\${config.greeting}, \${ctx.render(config.who)}!\\n\`, { 'content-type': 'text/plain; charset=utf-8' });
      },
      close: async () => {},
    })),
  ];

  constructor(@inject(LOGGER) private readonly log: Logger) {}
}
`;

const EXAMPLE = (o: SkeletonOptions): string => `# Loads this package (its package.json "main"); PORT=0 picks a free port.
plugin .

server {
    listen 127.0.0.1:\${PORT:-8080}
    route / { ${o.name} visitor { greeting Hi } }
}
`;

const TEST = (o: SkeletonOptions): string => `import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const GATEKIT = join(ROOT, 'node_modules', '.bin', 'gatekit');

describe('${o.name}', function () {
  this.timeout(10000);
  let server;
  afterEach(() => server?.kill());

  it('checks clean', () => {
    const r = spawnSync(GATEKIT, ['check', 'example.gate'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('answers through a running gatekit', async () => {
    server = spawn(GATEKIT, ['run', 'example.gate'], { cwd: ROOT, env: { ...process.env, PORT: '0' } });
    const port = await new Promise((resolve, reject) => {
      let out = '';
      server.stderr.on('data', (c) => { out += c; const m = /listening url=http:\\/\\/127\\.0\\.0\\.1:(\\d+)/.exec(out); if (m) resolve(m[1]); });
      server.on('exit', () => reject(new Error(\`gatekit exited: \${out}\`)));
    });
    const res = await fetch(\`http://127.0.0.1:\${port}/\`);
    assert.equal(await res.text(), 'Hi, visitor!\\n');
  });
});
`;

const TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true,
    "experimentalDecorators": true, "emitDecoratorMetadata": true,
    "rootDir": "src", "outDir": "dist", "skipLibCheck": true, "types": ["node"]
  },
  "include": ["src/**/*.ts"]
}
`;

const unitClass = (name: string): string => `${pascal(name)}Unit`;
const pluginClass = (name: string): string => `${pascal(name)}Plugin`;
const pascal = (name: string): string =>
  name
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

function packageJson(o: SkeletonOptions): string {
  const dev: Record<string, string> = {
    'gatekit-server': o.source ? `file:${o.source}` : `^${o.version}`,
    mocha: '^12.0.3',
    ...(o.typescript ? { typescript: '^7.0.2', '@types/node': '^20.19.0' } : {}),
  };
  return `${JSON.stringify(
    {
      name: `gatekit-plugin-${o.name.replace(/_/g, '-')}`,
      version: '0.1.0',
      description: `A gatekit plugin: the ${o.name} handler`,
      type: 'module',
      main: o.typescript ? 'dist/index.js' : 'index.js',
      scripts: o.typescript ? { build: 'tsc', pretest: 'tsc', test: 'mocha' } : { test: 'mocha' },
      peerDependencies: { 'gatekit-server': `>=${o.version}` },
      devDependencies: dev,
    },
    null,
    2,
  )}\n`;
}

/** pluginSkeleton writes the files of a new plugin package: the plugin, a .gate file that loads it, a mocha test. */
export function pluginSkeleton(o: SkeletonOptions): PluginSkeleton {
  return new Map([
    ['package.json', packageJson(o)],
    [o.typescript ? 'src/index.ts' : 'index.js', o.typescript ? TS_PLUGIN(o) : JS_PLUGIN(o)],
    ...(o.typescript ? [['tsconfig.json', TSCONFIG] as [string, string]] : []),
    ['example.gate', EXAMPLE(o)],
    ['.mocharc.json', '{ "spec": "test/*.test.js" }\n'],
    [`test/${o.name}.test.js`, TEST(o)],
    ['.gitignore', 'node_modules/\ndist/\n'],
  ]);
}
