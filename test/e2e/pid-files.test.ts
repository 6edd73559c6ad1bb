import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, serve, type Served } from '../helpers/cli.js';

const LISTENING = /listening (?:worker=\d+ )?url=http:\/\/127\.0\.0\.1:(\d+)/;
const text = async (port: string): Promise<string> => (await fetch(`http://127.0.0.1:${port}/`)).text();

describe('pid files', function () {
  this.timeout(15_000);
  let dir: string;
  let servers: Served[] = [];
  let others: ChildProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-pid-'));
  });
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const c of others)
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await once(c, 'exit');
      }
    servers = [];
    others = [];
    rmSync(dir, { recursive: true, force: true });
  });

  const site = (name: string, body: string, global = ''): string => {
    const f = join(dir, name);
    writeFileSync(f, `global { ${global} }\nserver { listen 127.0.0.1:0; respond "${body}" }\n`);
    return f;
  };
  const start = async (f: string): Promise<{ served: Served; port: string }> => {
    const served = serve(['run', f]);
    servers.push(served);
    const [, port] = await served.waitFor(LISTENING, 8000);
    return { served, port };
  };
  /** bystander is a live process that is not gatekit: it must never get a signal. */
  const bystander = (): ChildProcess => {
    const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    others.push(c);
    return c;
  };

  it('are per config file, so stopping a.gate leaves b.gate in the same folder running', async () => {
    const a = await start(site('a.gate', 'a'));
    const b = await start(site('b.gate', 'b'));
    assert.equal(readFileSync(join(dir, 'a.pid'), 'utf8').trim(), String(a.served.child.pid));
    assert.equal(readFileSync(join(dir, 'b.pid'), 'utf8').trim(), String(b.served.child.pid));
    assert.equal((await runCli(['stop', join(dir, 'a.gate')])).code, 0);
    assert.equal(await a.served.exited(), 0);
    assert.equal(await text(b.port), 'b');
    assert.deepEqual([existsSync(join(dir, 'a.pid')), existsSync(join(dir, 'a.state')), existsSync(join(dir, 'b.pid'))], [false, false, true]);
  });

  it('a stale pid, or one that is not gatekit serving that file, gets a clear message and exit 3, never a signal', async () => {
    const f = site('a.gate', 'a');
    const pidFile = join(dir, 'a.pid');
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await once(gone, 'exit');
    writeFileSync(pidFile, `${gone.pid}\n`);
    let r = await runCli(['stop', f]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`pid ${gone.pid} in .*a\\.pid is not running \\(the pid file is stale\\)`));

    const other = bystander();
    writeFileSync(pidFile, `${other.pid}\n`);
    r = await runCli(['reload', f]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`pid ${other.pid} in .*a\\.pid is not a gatekit server`));
    if (existsSync(`/proc/${other.pid}/stat`)) {
      // a pid the kernel gave to another process since gatekit wrote it
      writeFileSync(join(dir, 'a.state'), JSON.stringify({ pid: other.pid, started: 1, config: f }));
      r = await runCli(['stop', f]);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /is another process now: the gatekit that wrote it has exited/);
    }

    const b = await start(site('b.gate', 'b'));
    copyFileSync(join(dir, 'b.pid'), pidFile);
    copyFileSync(join(dir, 'b.state'), join(dir, 'a.state'));
    r = await runCli(['stop', f]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /serves .*b\.gate, not .*a\.gate/);
    assert.equal(await text(b.port), 'b');
    assert.deepEqual([other.exitCode, other.signalCode], [null, null], 'the bystander got no signal');
  });

  it('is written before the server listens, so stop works from its first line (workers 2)', async () => {
    const f = site('w.gate', 'w', 'workers 2');
    const served = serve(['run', f]);
    servers.push(served);
    await served.waitFor(LISTENING, 8000); // worker 1's line, before the master has seen every worker ready
    assert.equal(readFileSync(join(dir, 'w.pid'), 'utf8').trim(), String(served.child.pid));
    assert.equal((await runCli(['stop', f])).code, 0);
    assert.equal(await served.exited(), 0);
  });

  it('a second run of a config that is running is refused, and the first keeps its pid file', async () => {
    const f = site('a.gate', 'a');
    const first = await start(f);
    const r = await runCli(['run', f]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`already running with .*a\\.gate as pid ${first.served.child.pid}`));
    assert.equal(readFileSync(join(dir, 'a.pid'), 'utf8').trim(), String(first.served.child.pid));
    assert.equal(await text(first.port), 'a');
  });
});
