import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';

describe('gatekit check: every mistake at once; plugins --config; near-miss commands', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-mistakes-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('reports a unit validate() finds (static with a missing folder) beside an unrelated schema error, in one run', async () => {
    const f = write(
      'site.gate',
      [
        'server {',
        '    listen 127.0.0.1:8080',
        '    route /assets/ { static ./no-such-folder }',
        '    route /api/ { respnd 200 "hi" }',
        '    route /slow/ { proxy http://127.0.0.1:9 { read_timeout soon } }',
        '    route / { respond "home" }',
        '}',
        '',
      ].join('\n'),
    );
    const r = await runCli(['check', f]);
    assert.equal(r.code, 1);
    const headers = r.stderr
      .split('\n')
      .filter((l) => l.includes(': error: '))
      .map((l) => l.replace(`${dir}/`, ''));
    assert.deepEqual(headers, [
      `site.gate:3:29: error: static root '${join(dir, 'no-such-folder')}' does not exist`,
      "site.gate:4:19: error: unknown directive 'respnd' in route",
      "site.gate:5:60: error: invalid duration 'soon' for 'read_timeout'",
    ]);
    assert.match(r.stderr, /did you mean 'respond'\?/);
    assert.match(r.stderr, /3 errors/);
  });

  it('suggests the command meant: gatekit chek → check', async () => {
    const r = await runCli(['chek', 'site.gate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'chek'; did you mean 'check'\?/);
    const flag = await runCli(['fmt', '--wrte', 'site.gate']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown flag '--wrte' for fmt; did you mean '--write'\?/);
  });

  it('plugins --config FILE lists the directives of the plugins FILE loads, with their defaults', async () => {
    const f = write('site.gate', `plugin ${repoPath('samples', 'hello-plugin')}\nserver { listen 8080; hello }\n`);
    const without = await runCli(['plugins', 'hello']);
    assert.equal(without.code, 2);
    assert.match(without.stderr, /--config FILE/);
    const r = await runCli(['plugins', 'hello', '--config', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^hello\n {4}hello \[NAME\] \{ \.\.\. \} +handler +Greet the visitor.*\(default NAME world\)\n {8}greeting TEXT/);
    const proxy = await runCli(['plugins', 'proxy', `--config=${f}`]);
    assert.match(proxy.stdout, /keepalive_timeout TIMEOUT +How long an idle upstream connection \(or HTTP\/2 session\) is kept \(default 30s\)/);
    const broken = write('broken.gate', 'plugin ./missing-plugin\n');
    const bad = await runCli(['plugins', '--config', broken]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /broken\.gate:1:8: error: cannot load plugin '\.\/missing-plugin'/);
  });
});
