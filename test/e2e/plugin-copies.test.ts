import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, serve, type Served } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';

// What tsc emits for a decorated plugin class (@injectable(), @inject(LOGGER)), using the
// plugin package's own copies of tsyringe and reflect-metadata, as a copied install has them.
const PLUGIN = `import 'reflect-metadata';
import { inject, injectable } from 'tsyringe';
const LOGGER = Symbol.for('gatekit.logger');
// The HttpError of another copy of gatekit: another class, with the brand every copy sets.
class HttpError extends Error {
  constructor(status) { super('teapot'); this.status = status; this.headers = {}; this[Symbol.for('gatekit.HttpError')] = true; }
}
class PoweredByPlugin {
  constructor(log) {
    this.log = log;
    this.name = 'powered';
    this.directives = [{
      name: 'powered_by', kind: 'handler', doc: 'Answer with who served it',
      schema: { args: [{ name: 'value', type: 'string' }] },
      create: (cfg) => ({ handle: (ctx) => {
        if (ctx.path === '/tea') throw new HttpError(418);
        return ctx.send(200, cfg.value + (typeof this.log.info === 'function' ? ' (logger injected)' : ''));
      } }),
    }];
  }
}
Reflect.defineMetadata('design:paramtypes', [Object], PoweredByPlugin);
inject(LOGGER)(PoweredByPlugin, undefined, 0);
injectable()(PoweredByPlugin);
export default PoweredByPlugin;
`;

describe('a plugin package with its own copy of gatekit and tsyringe', function () {
  this.timeout(10000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-copies-'));
    const pkg = join(dir, 'node_modules', 'gatekit-plugin-powered');
    mkdirSync(join(pkg, 'node_modules'), { recursive: true });
    for (const m of ['tsyringe', 'reflect-metadata', 'tslib']) cpSync(repoPath('node_modules', m), join(pkg, 'node_modules', m), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'gatekit-plugin-powered', version: '1.0.0', type: 'module', main: 'index.js' }));
    writeFileSync(join(pkg, 'index.js'), PLUGIN);
    writeFileSync(join(dir, 'site.gate'), 'plugin gatekit-plugin-powered\nserver {\n    listen 127.0.0.1:0\n    route / { powered_by "gatekit" }\n}\n');
  });
  let served: Served | undefined;
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads into the one container, its tokens resolved, its HttpError answered with its status', async () => {
    const r = await runCli(['check', 'site.gate'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const p = await runCli(['plugins', 'powered', '--config', 'site.gate'], { cwd: dir });
    assert.match(p.stdout, /powered_by VALUE +handler +Answer with who served it/);
    served = serve(['run', 'site.gate'], { cwd: dir });
    const [, port] = await served.waitFor(/listening url=http:\/\/127\.0\.0\.1:(\d+)/);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), 'gatekit (logger injected)');
    assert.equal((await fetch(`http://127.0.0.1:${port}/tea`)).status, 418, 'an HttpError of its copy is answered with its status');
  });
});
