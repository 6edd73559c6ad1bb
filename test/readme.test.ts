import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readExpectations } from '../configtest/expectations.js';
import type { Diagnostic } from '../dsl/diagnostics.js';
import { checkGate } from './helpers/gate.js';
import { REPO, repoPath } from './helpers/paths.js';

describe('README', () => {
  const readme = readFileSync(repoPath('README.md'), 'utf8');

  it('tour config checks clean', async () => {
    const at = readme.indexOf('## A tour of the language');
    const start = readme.indexOf('```\n', at) + 4;
    const text = readme.slice(start, readme.indexOf('```', start));
    assert.ok(text.includes('server'), 'tour block found');
    const diags = await checkGate(text, { file: repoPath('README-tour.gate') });
    assert.deepEqual(
      diags.map((d) => `${d.span.line}:${d.span.col} ${d.message}`),
      [],
    );
  });

  it('gatekit test example reads clean', () => {
    const at = readme.indexOf('`gatekit test site.gate` runs');
    const start = readme.indexOf('```\n', at) + 4;
    const diags: Diagnostic[] = [];
    const read = readExpectations(readme.slice(start, readme.indexOf('```', start)), 'README.gate.test', diags);
    assert.deepEqual(
      diags.map((d) => `${d.span.line}:${d.span.col} ${d.message}`),
      [],
    );
    assert.equal(read.length, 7);
  });

  it('gives the two commands for a fresh clone, and .ci/run runs the test one', () => {
    assert.match(readme, /npm ci && npm start/);
    assert.match(readme, /npm ci && npm test/);
    const ci = readFileSync(repoPath('.ci', 'run'), 'utf8');
    assert.match(ci, /^npm ci$/m);
    assert.match(ci, /^npm test$/m);
  });

  it('says how to get the gatekit command where it is first needed, and both ways work', function () {
    this.timeout(60_000); // npm starts slowly
    assert.match(readme, /`npx gatekit \.\.\.` from inside the clone/);
    assert.match(readme, /`npm link` once in the clone to put `gatekit` on your PATH/);
    assert.match(
      readFileSync(repoPath('samples', 'quickstart.gate'), 'utf8'),
      /respond "gatekit is running\. .*npx gatekit run FILE .*npm link puts gatekit on your PATH/,
    );
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
    const npm = (args: string[], env: NodeJS.ProcessEnv = {}): string =>
      execFileSync('npm', ['--offline', '--no-audit', '--no-fund', ...args], { cwd: REPO, env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.equal(npm(['exec', '--no', '--', 'gatekit', '--version']).trim(), `gatekit ${pkg.version}`);
    const prefix = mkdtempSync(join(tmpdir(), 'gatekit-link-')); // a global prefix of its own: nothing outside it changes
    try {
      npm(['link'], { npm_config_prefix: prefix });
      assert.equal(execFileSync(join(prefix, 'bin', 'gatekit'), ['--version'], { cwd: tmpdir(), encoding: 'utf8' }).trim(), `gatekit ${pkg.version}`);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });
});
