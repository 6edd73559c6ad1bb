import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, serve, type Served } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';

const LISTENING = /listening url=http:\/\/127\.0\.0\.1:(\d+)/;

describe('gatekit command', function () {
  this.timeout(8000);
  let dir: string;
  let served: Served | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-cli-'));
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('prints its version and its help', async () => {
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
    const v = await runCli(['--version']);
    assert.deepEqual([v.code, v.stdout.trim()], [0, `gatekit ${pkg.version}`]);
    const h = await runCli(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /gatekit check FILE\.\.\./);
    assert.match(h.stdout, /exit codes:/);
  });

  it('exits 2 on an unknown command, with a hint', async () => {
    const r = await runCli(['serve']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'serve'/);
  });

  it('check: ok files exit 0; a bad file prints every diagnostic and exits 1', async () => {
    const good = write('good.gate', 'server { listen 127.0.0.1:0; respond "ok" }\n');
    const bad = write(
      'bad.gate',
      'server {\n    listen 127.0.0.1:0\n    respnd ./public\n    route /a/ { respond 200 "a"; respond 201 "b" }\n}\nglobal { workers many }\n',
    );
    const ok = await runCli(['check', good]);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /good\.gate: ok/);
    const r = await runCli(['check', good, bad]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /bad\.gate:3:5: error: unknown directive 'respnd' in server\n {4}3 \| {5}respnd \.\/public\n {6}\| {5}\^{6}\n {6}= help: did you mean 'respond'\?/,
    );
    assert.match(r.stderr, /bad\.gate:4:34: error: route '\/a\/' has two handlers/);
    assert.match(r.stderr, /bad\.gate:6:18: error: invalid integer 'many' for 'workers'/);
    assert.match(r.stderr, /3 errors/);
    assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
  });

  it('fmt prints canonical layout, --check reports, --write rewrites idempotently', async () => {
    const f = write('messy.gate', 'server   {listen 8080 ;   respond   "x"}\n\n\n# note\nglobal{workers 2}\n');
    const printed = await runCli(['fmt', f]);
    assert.equal(printed.code, 0);
    assert.equal(printed.stdout, 'server { listen 8080; respond "x" }\n\n# note\nglobal { workers 2 }\n');
    assert.equal((await runCli(['fmt', '--check', f])).code, 1);
    assert.equal((await runCli(['fmt', '--write', f])).code, 0);
    assert.equal(readFileSync(f, 'utf8'), printed.stdout);
    assert.equal((await runCli(['fmt', '--check', f])).code, 0);
  });

  it('fmt refuses a file that does not parse and leaves it alone', async () => {
    const f = write('broken.gate', 'server {\n  listen 8080\n');
    const r = await runCli(['fmt', '--write', f]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /broken\.gate:1:8: error: unclosed '\{'/);
    assert.equal(readFileSync(f, 'utf8'), 'server {\n  listen 8080\n');
  });

  it('plugins lists directives with their usage and docs; plugins NAME narrows it', async () => {
    const all = await runCli(['plugins']);
    assert.equal(all.code, 0);
    assert.match(all.stdout, /respond \[STATUS\] \[BODY\]/);
    assert.match(all.stdout, /listen ADDRESS \[OPTIONS...\]/);
    const one = await runCli(['plugins', 'respond']);
    assert.match(one.stdout, /content_type TYPE/);
    assert.doesNotMatch(one.stdout, /listen/);
    const none = await runCli(['plugins', 'respnd']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /did you mean 'respond'\?/);
  });

  it('routes prints the table in precedence order and which route serves a path', async () => {
    const f = write(
      'r.gate',
      'server {\n listen 8080\n route / { respond "a" }\n route /api/ { respond "b" }\n route ~ ^/x { respond "c" }\n route = /h { respond "d" }\n}\n',
    );
    const table = await runCli(['routes', f]);
    assert.equal(table.code, 0);
    const lines = table.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
    assert.deepEqual(lines, ['exact =', 'regex ~', 'prefix /api/', 'prefix /']);
    const which = await runCli(['routes', f, '/api/users', '/h', '/nowhere', '/api']);
    assert.match(which.stdout, /\/api\/users {2}→ {2}\/api\/ +respond/);
    assert.match(which.stdout, /\/api {2}→ {2}301 to \/api\/ {2}\(line 4\)/);
    assert.match(which.stdout, /\/h {2}→ {2}= \/h/);
    assert.match(which.stdout, /\/nowhere {2}→ {2}\/ +respond/);
  });

  it('run serves a config, writes its pid file, and stops gracefully on TERM', async () => {
    const f = write('site.gate', 'server { listen 127.0.0.1:0; respond "from a file" }\n');
    served = serve(['run', f]);
    const [, port] = await served.waitFor(LISTENING);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), 'from a file');
    assert.equal(readFileSync(join(dir, 'site.pid'), 'utf8').trim(), String(served.child.pid));
    const stopped = await runCli(['stop', f]);
    assert.equal(stopped.code, 0);
    assert.equal(await served.exited(), 0);
    assert.equal(existsSync(join(dir, 'site.pid')), false);
    assert.equal(existsSync(join(dir, 'site.state')), false);
  });

  it('run with workers 0 is not suspended by TTIN or TTOU: it says they do nothing there, and goes on serving', async () => {
    const f = write('site.gate', 'server { listen 127.0.0.1:0; respond "still here" }\n');
    served = serve(['run', f]);
    const [, port] = await served.waitFor(LISTENING, 6000);
    served.child.kill('SIGTTIN');
    served.child.kill('SIGTTOU');
    await served.waitFor(/TTOU ignored: with workers 0 there is no worker to add or retire/);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'still here');
  });

  it('run with no file serves ./gatekit.gate, else the quickstart sample, and says so', async () => {
    served = serve(['run'], { cwd: dir, env: { PORT: '0' } });
    await served.waitFor(LISTENING);
    assert.match(served.output(), /no \.\/gatekit\.gate here; serving the quickstart sample .*quickstart\.gate/);
    await served.stop();
    write('gatekit.gate', 'server { listen 127.0.0.1:0; respond "local" }\n');
    served = serve(['run'], { cwd: dir });
    const [, port] = await served.waitFor(LISTENING);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'local');
  });

  it('run refuses a config with errors: exit 1, diagnostics, nothing served', async () => {
    const f = write('bad.gate', 'server { listen 127.0.0.1:0; respond 700 }\n');
    const r = await runCli(['run', f]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.gate:1:38: error: invalid status '700' for 'respond'/);
  });

  it('run exits 3 with a clear reason when the port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const f = write('busy.gate', `server { listen 127.0.0.1:${port}; respond "x" }\n`);
      const r = await runCli(['run', f]);
      assert.equal(r.code, 3);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
    } finally {
      blocker.close();
    }
  });

  it('reload (HUP) applies a new config, and keeps the old one when the new one has errors', async () => {
    const f = write('live.gate', 'server { listen 127.0.0.1:0; respond "v1" }\n');
    served = serve(['run', f]);
    const [, port1] = await served.waitFor(LISTENING);
    assert.equal(await (await fetch(`http://127.0.0.1:${port1}/`)).text(), 'v1');
    write('live.gate', 'server { listen 127.0.0.1:0; respond "v2" }\n');
    assert.equal((await runCli(['reload', f])).code, 0);
    await served.waitFor(/reloaded/);
    const port2 = [...served.output().matchAll(new RegExp(LISTENING, 'g'))].pop()![1];
    assert.equal(await (await fetch(`http://127.0.0.1:${port2}/`)).text(), 'v2');
    write('live.gate', 'server { listen 127.0.0.1:0; respond "v3" \n');
    served.child.kill('SIGHUP');
    await served.waitFor(/live\.gate:1:8: error: unclosed '\{'/);
    assert.match(served.output(), /reload refused/);
    assert.equal(await (await fetch(`http://127.0.0.1:${port2}/`)).text(), 'v2');
  });

  it('stop without a running server exits 3', async () => {
    const f = write('idle.gate', 'server { listen 127.0.0.1:0; respond "x" }\n');
    const r = await runCli(['stop', f]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /no pid in .*idle\.pid/);
  });
});
