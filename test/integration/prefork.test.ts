import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, serve, type Served } from '../helpers/cli.js';
import { getOnce, KeepAliveLoad, RequestLoop } from '../helpers/load-loop.js';
import { repoPath } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { COLD_AFTER } from '../../core/listener-drain.js';

const LISTENING = /listening worker=1 url=http:\/\/127\.0\.0\.1:(\d+)/;
const TEST_PLUGIN = repoPath('test', 'fixtures', 'test-plugin');

describe('prefork process model', function () {
  this.timeout(20_000);
  let dir: string;
  let served: Served | undefined;
  let loop: RequestLoop | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-prefork-'));
  });
  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
    await served?.stop();
    served = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (text: string): string => {
    const f = join(dir, 'site.gate');
    writeFileSync(f, text);
    return f;
  };
  const start = async (text: string): Promise<number> => {
    served = serve(['run', write(text)]);
    const [, port] = await served.waitFor(LISTENING, 8000);
    await served.waitFor(/master running/, 8000);
    return Number(port);
  };
  const pids = (outs: { body?: string }[]): Set<string> => new Set(outs.map((o) => o.body?.trim()).filter((b): b is string => !!b));

  it('forks the workers, never serving from the master', async () => {
    const port = await start('global { workers 2 }\nserver { listen 127.0.0.1:0; respond "$pid" }\n');
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await getOnce(port)).body!);
    assert.equal(seen.size, 2);
    assert.ok(!seen.has(String(served!.child.pid)), 'the master answered a request');
  });

  it('replaces a worker killed with -9; requests fail only if they were in flight on it', async () => {
    const port = await start('global { workers 2 }\nserver { listen 127.0.0.1:0; respond "$pid" }\n');
    loop = new RequestLoop(port);
    await loop.waitFor(30);
    const victim = [...pids(loop.outcomes)][0];
    process.kill(Number(victim), 'SIGKILL');
    await served!.waitFor(new RegExp(`pid ${victim}\\) exited with signal SIGKILL`));
    await served!.waitFor(
      /worker ready role=master worker=\d pid=\d+ generation=1[\s\S]*worker ready role=master worker=\d pid=\d+ generation=1[\s\S]*worker ready/,
    );
    const before = loop.outcomes.length;
    await loop.waitFor(before + 40);
    const outs = await loop.stop();
    loop = undefined;
    assert.ok(loop === undefined && outs.filter((o) => o.error || o.status !== 200).length <= 1, 'at most the one request in flight may fail');
    assert.ok(
      outs.slice(before).every((o) => o.status === 200),
      'every request after the replacement succeeds',
    );
    const after = pids(outs.slice(before));
    assert.ok(!after.has(victim));
    assert.equal(after.size, 2);
  });

  it('reloads on HUP with zero failed requests, switching to the new config', async () => {
    const file = join(dir, 'site.gate');
    const port = await start('global { workers 2 }\nserver { listen 127.0.0.1:0; respond "v1" }\n');
    loop = new RequestLoop(port);
    await loop.waitFor(20);
    writeFileSync(file, 'global { workers 2 }\nserver { listen 127.0.0.1:0; respond "v2" }\n');
    served!.child.kill('SIGHUP');
    await served!.waitFor(/reloaded: new workers ready/);
    await served!.waitFor(
      /generation=1 state|worker exited role=master worker=\d pid=\d+ generation=1[\s\S]*worker exited role=master worker=\d pid=\d+ generation=1/,
    );
    const mark = loop.outcomes.length;
    await loop.waitFor(mark + 20);
    const outs = await loop.stop();
    loop = undefined;
    assert.deepEqual(
      outs.filter((o) => o.status !== 200),
      [],
      'no request failed',
    );
    const bodies = outs.map((o) => o.body);
    assert.equal(bodies[0], 'v1');
    assert.ok(bodies.slice(mark).every((b) => b === 'v2'));
  });

  // workers 0: the new generation takes the listening socket over in the same process
  for (const workers of [0, 2])
    it(`reloads with zero failed requests under concurrent keep-alive load, several times in a row (workers ${workers})`, async function () {
      this.timeout(60_000); // three reloads, each forking new workers: slow on a loaded machine
      const file = join(dir, 'site.gate');
      const port = await freePort();
      const site = (v: number): string => `global { workers ${workers} }\nserver { listen 127.0.0.1:${port}; respond "v${v}" }\n`;
      served = serve(['run', write(site(0))]);
      await served.waitFor(/listening/, 8000);
      const load = new KeepAliveLoad(port, 16);
      try {
        await load.waitFor(200);
        for (let v = 1; v <= 3; v++) {
          writeFileSync(file, site(v));
          served.child.kill('SIGHUP');
          await served.waitFor(new RegExp('info reloaded[\\s\\S]*'.repeat(v)), 10_000);
          const mark = load.outcomes.length;
          await load.waitFor(mark + 200);
          assert.ok(
            load.outcomes.slice(mark + 100).some((o) => o.body === `v${v}`),
            `serving v${v}`,
          );
        }
      } finally {
        const outs = await load.stop();
        assert.deepEqual(outs.filter((o) => o.status !== 200).slice(0, 5), [], `of ${outs.length} requests`);
      }
    });

  it('closes at once, on a reload, a kept-alive connection quiet since its last response: its next request meets the new config (workers 0)', async () => {
    const file = join(dir, 'site.gate');
    const port = await freePort();
    const site = (v: number): string => `global { workers 0 }\nserver { listen 127.0.0.1:${port}; respond "v${v}" }\n`;
    served = serve(['run', write(site(1))]);
    await served.waitFor(/listening/, 8000);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await getVia(agent, port);
      assert.equal(first.body, 'v1');
      // quiet for longer than COLD_AFTER: the point of the test, not a wait for readiness
      await new Promise((r) => setTimeout(r, COLD_AFTER * 2));
      writeFileSync(file, site(2));
      served.child.kill('SIGHUP');
      await served.waitFor(/info reloaded/, 10_000);
      // the close and this request may cross (the FIN not read yet): a client sends again on a new connection, as Node's agent users do
      const second = await getVia(agent, port).catch((e: Error) => {
        if (!/socket hang up|ECONNRESET/.test(e.message)) throw e;
        return getVia(agent, port);
      });
      assert.equal(second.body, 'v2', 'the old connection would have met the old config for a second');
      assert.notEqual(second.localPort, first.localPort, 'on a new connection');
    } finally {
      agent.destroy();
    }
  });

  it('keeps serving the old config when the new one has errors', async () => {
    const file = join(dir, 'site.gate');
    const port = await start('global { workers 1 }\nserver { listen 127.0.0.1:0; respond "v1" }\n');
    writeFileSync(file, 'global { workers 1 }\nserver { listen 127.0.0.1:0; respnd "v2" }\n');
    served!.child.kill('SIGHUP');
    await served!.waitFor(/site\.gate:2:30: error: unknown directive 'respnd' in server/);
    assert.match(served!.output(), /reload refused/);
    assert.equal((await getOnce(port)).body, 'v1');
    assert.equal(served!.child.exitCode, null);
  });

  it('rolls back when the new workers cannot start, and keeps the old ones', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const taken = (blocker.address() as { port: number }).port;
      const file = join(dir, 'site.gate');
      const port = await start('global { workers 1 }\nserver { listen 127.0.0.1:0; respond "v1" }\n');
      writeFileSync(file, `global { workers 1 }\nserver { listen 127.0.0.1:0; respond "v2" }\nserver { listen 127.0.0.1:${taken}; respond "x" }\n`);
      served!.child.kill('SIGHUP');
      await served!.waitFor(/reload failed: new workers did not become ready; still serving the old config/);
      assert.match(served!.output(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}: address already in use`));
      assert.equal((await getOnce(port)).body, 'v1');
    } finally {
      blocker.close();
    }
  });

  it('lets a slow request finish on TERM, refuses new connections, and exits 0', async () => {
    const port = await start(
      `plugin ${TEST_PLUGIN}\nglobal { workers 1; graceful_timeout 5s }\nserver { listen 127.0.0.1:0; route /slow { slow 1500ms }; respond "fast" }\n`,
    );
    const slow = getOnce(port, '/slow');
    await new Promise((r) => setTimeout(r, 300));
    served!.child.kill('SIGTERM');
    await served!.waitFor(/stopping/);
    await new Promise((r) => setTimeout(r, 200));
    const refused = await getOnce(port, '/', 1000);
    assert.ok(refused.error, `a new connection was served during shutdown: ${refused.status}`);
    const res = await slow;
    assert.equal(res.status, 200);
    assert.match(res.body!, /slow done/);
    assert.equal(await served!.exited(), 0);
  });

  it('recycles a worker after max_requests, with no request lost', async () => {
    const port = await start('global { workers 1; max_requests 5 }\nserver { listen 127.0.0.1:0; respond "$pid" }\n');
    const outs = [];
    const until = Date.now() + 10_000;
    for (let i = 0; i < 20_000 && pids(outs).size < 2 && Date.now() < until; i++) outs.push(await getOnce(port));
    assert.ok(
      outs.every((o) => o.status === 200),
      JSON.stringify(outs.filter((o) => o.status !== 200)),
    );
    assert.equal(pids(outs).size, 2, 'a new worker took over');
    assert.match(served!.output(), /worker reached max_requests; replacing it role=master worker=1 pid=\d+ requests=5/);
  });

  it('kills a worker stuck in a busy loop after worker_timeout, naming the request, and replaces it', async () => {
    const port = await start(
      `plugin ${TEST_PLUGIN}\nglobal { workers 2; worker_timeout 1s }\nserver { listen 127.0.0.1:0; route = /stuck { spin }; respond "$pid" }\n`,
    );
    void getOnce(port, '/stuck?why=test', 8000);
    await served!.waitFor(
      /worker timeout: event loop blocked for \d+ms; killing it worker=\d pid=\d+ request="GET \/stuck\?why=test" request_age_ms=\d+/,
      8000,
    );
    await served!.waitFor(/exited with signal SIGKILL/);
    const outs = [];
    for (let i = 0; i < 10; i++) outs.push(await getOnce(port));
    assert.ok(outs.every((o) => o.status === 200));
  });

  it('exits non-zero with the reason when the first generation cannot boot', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const taken = (blocker.address() as { port: number }).port;
      const r = await runCli(['run', write(`global { workers 2 }\nserver { listen 127.0.0.1:${taken}; respond "x" }\n`)], { ms: 8000 });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, new RegExp(`cannot start: cannot listen on 127\\.0\\.0\\.1:${taken}: address already in use`));
    } finally {
      blocker.close();
    }
  });

  it('adds a worker on TTIN and retires one on TTOU', async () => {
    const port = await start('global { workers 1 }\nserver { listen 127.0.0.1:0; respond "$pid" }\n');
    served!.child.kill('SIGTTIN');
    await served!.waitFor(/worker ready role=master worker=2/);
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await getOnce(port)).body!);
    assert.equal(seen.size, 2);
    served!.child.kill('SIGTTOU');
    await served!.waitFor(/worker exited role=master worker=2/);
    assert.equal((await getOnce(port)).status, 200);
  });

  it("runs plugins' master parts: a supervised helper process is restarted, and stopped with the master", async () => {
    await start(`plugin ${TEST_PLUGIN}\nglobal { workers 1; test_pool alpha }\nserver { listen 127.0.0.1:0; respond "x" }\n`);
    const [, first] = await served!.waitFor(/pool alpha ready (\d+)/);
    process.kill(Number(first), 'SIGKILL');
    await served!.waitFor(/\[test-plugin\] exited with signal SIGKILL .*process=pool-alpha/);
    const [, second] = await served!.waitFor(new RegExp(`pool alpha ready (?!${first})(\\d+)`));
    served!.child.kill('SIGTERM');
    assert.equal(await served!.exited(), 0);
    assert.match(served!.output(), /pool alpha stopping/);
    assert.throws(() => process.kill(Number(second), 0), /ESRCH/);
  });

  it('on reload opens new listeners and closes the ones no longer configured', async () => {
    const free = async (): Promise<number> => {
      const s = createServer();
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      const port = (s.address() as { port: number }).port;
      await new Promise((resolve) => s.close(resolve));
      return port;
    };
    const [a, b] = [await free(), await free()];
    const file = join(dir, 'site.gate');
    await start(`global { workers 1 }\nserver { listen 127.0.0.1:${a}; respond "on a" }\n`);
    writeFileSync(file, `global { workers 1 }\nserver { listen 127.0.0.1:${b}; respond "on b" }\n`);
    served!.child.kill('SIGHUP');
    await served!.waitFor(/worker exited role=master worker=1 pid=\d+ generation=1/);
    assert.equal((await getOnce(b)).body, 'on b');
    assert.ok((await getOnce(a, '/', 1000)).error, 'the old address still answers');
  });

  it('writes the error log to a file and reopens it on USR1 (logrotate)', async () => {
    const file = join(dir, 'site.gate');
    const log = join(dir, 'error.log');
    writeFileSync(file, 'global { workers 1; error_log ./error.log info }\nserver { listen 127.0.0.1:0; respond "x" }\n');
    served = serve(['run', file]);
    const until = Date.now() + 8000;
    while (!(existsSync(log) && /master running/.test(readFileSync(log, 'utf8'))) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    assert.match(readFileSync(log, 'utf8'), /listening worker=1 url=http:\/\/127\.0\.0\.1:\d+/);
    renameSync(log, `${log}.1`);
    served.child.kill('SIGUSR1');
    await new Promise((r) => setTimeout(r, 200));
    served.child.kill('SIGHUP');
    while (!(existsSync(log) && /reloaded/.test(readFileSync(log, 'utf8'))) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    assert.match(readFileSync(log, 'utf8'), /reloading role=master[\s\S]*reloaded/);
    assert.doesNotMatch(readFileSync(`${log}.1`, 'utf8'), /reloaded/);
    assert.equal(served.output(), '', 'nothing went to stderr');
  });

  it('drops worker privileges to `user` after the listeners open; the master keeps root', async function () {
    if (process.getuid?.() !== 0) this.skip(); // only root can switch users
    const port = await start('global { workers 1; user nobody }\nserver { listen 127.0.0.1:0; respond "$pid" }\n');
    const pid = (await getOnce(port)).body!;
    const uid = (p: string | number): string => /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1];
    assert.equal(uid(pid), '65534');
    assert.equal(uid(served!.child.pid!), '0');
  });
});

/** getVia makes one GET through `agent`, with the body and the local port of the connection it went on. */
function getVia(agent: Agent, port: number): Promise<{ body: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent, timeout: 5000 }, (res) => {
      const localPort = res.socket.localPort ?? 0;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ body, localPort }));
    });
    req.once('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.once('error', reject);
  });
}
