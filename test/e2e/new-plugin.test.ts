import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { REPO, repoPath } from '../helpers/paths.js';

/** linkDevDependencies puts this clone and its own tools where `npm install` would put the package's dev dependencies. */
function linkDevDependencies(pkg: string): void {
  const mods = join(pkg, 'node_modules');
  mkdirSync(join(mods, '.bin'), { recursive: true });
  mkdirSync(join(mods, '@types'));
  symlinkSync(REPO, join(mods, 'gatekit-server'));
  for (const m of ['mocha', '@types/node']) symlinkSync(repoPath('node_modules', m), join(mods, m));
  symlinkSync(repoPath('node_modules', '@typescript/native'), join(mods, 'typescript')); // the TypeScript 7 the package asks for
  symlinkSync(repoPath('dist', 'bin', 'gatekit.js'), join(mods, '.bin', 'gatekit'));
  symlinkSync(repoPath('node_modules', 'mocha', 'bin', 'mocha.js'), join(mods, '.bin', 'mocha'));
  symlinkSync(repoPath('node_modules', '.bin', 'tsc'), join(mods, '.bin', 'tsc'));
}

describe('gatekit new plugin', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-new-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const ts of [false, true]) {
    it(`writes a ${ts ? 'TypeScript' : 'JavaScript'} plugin package that builds, passes its own mocha test and loads from a .gate file`, async () => {
      const r = await runCli(['new', 'plugin', 'greet_me', ...(ts ? ['--ts'] : [])], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      const pkg = join(dir, 'gatekit-plugin-greet-me');
      assert.match(r.stdout, /wrote gatekit-plugin-greet-me: cd gatekit-plugin-greet-me && npm install && npm test/);
      const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
        peerDependencies: Record<string, string>;
        devDependencies: Record<string, string>;
      };
      assert.deepEqual(Object.keys(manifest.peerDependencies), ['gatekit-server']);
      // gatekit-server is not on the registry yet: a clone's gatekit points the package at itself, so npm install works
      assert.equal(manifest.devDependencies['gatekit-server'], `file:${realpathSync(REPO)}`);
      linkDevDependencies(pkg);
      const test = spawnSync('npm', ['test'], { cwd: pkg, encoding: 'utf8', timeout: 50000 });
      assert.equal(test.status, 0, test.stdout + test.stderr);
      assert.match(test.stdout, /2 passing/);
      if (ts) assert.ok(existsSync(join(pkg, 'dist', 'index.js')));
      const again = await runCli(['new', 'plugin', 'greet_me'], { cwd: dir });
      assert.equal(again.code, 3, 'an existing folder is never overwritten');
    });
  }

  it('refuses a name that is no directive name', async () => {
    const r = await runCli(['new', 'plugin', 'Greet-Me'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid plugin name 'Greet-Me'/);
  });
});
