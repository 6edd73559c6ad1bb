import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminUrl, hasPrometheusClient, parseExposition, postJson, sampleValue } from '../helpers/admin.js';
import { runCli, serve, type Served } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';
import { upstream, type TestUpstream } from '../integration/proxy-upstreams.js';

const LISTENING = /listening (?:worker=\d+ )?url=http:\/\/127\.0\.0\.1:(\d+)/;
/** SECOND_LISTENING matches the second generation's listening line (a reload with port 0 may move the port). */
const SECOND_LISTENING = new RegExp(`${LISTENING.source}[\\s\\S]*?${LISTENING.source}`.replace('(\\d+)', '\\d+'));
const NO_PARSER = '.venv has no prometheus_client: `.venv/bin/pip install --index-url file:///opt/pypi/simple prometheus_client` (.ci/run does)';

describe('admin API', function () {
  this.timeout(30_000);
  let dir: string;
  let served: Served | undefined;
  const ups: TestUpstream[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-admin-'));
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    for (const u of ups.splice(0)) await u.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (): string => join(dir, 'site.gate');
  /** start serves `body` with `admin 127.0.0.1:0` (and `adminOptions`) and returns the public and admin base URLs. */
  const start = async (workers: number, body: string, adminOptions = ''): Promise<{ site: string; admin: string }> => {
    writeFileSync(file(), `global { workers ${workers}; admin 127.0.0.1:0 ${adminOptions} }\n${body}\n`);
    served = serve(['run', file()]);
    const admin = await adminUrl(served);
    const port = (await served.waitFor(LISTENING, 10_000))[1];
    if (workers) await served.waitFor(/master running/, 10_000);
    return { site: `http://127.0.0.1:${port}`, admin };
  };
  const SITE = 'server { listen 127.0.0.1:0\n  route /api/ { respond 200 "api" }\n  route = /health { respond "ok" }\n  respond 404 "nope"\n}';

  it("/metrics sums every worker's requests, and prometheus_client parses it as text and as OpenMetrics", async function () {
    if (!(await hasPrometheusClient())) {
      console.log(`      skipped: ${NO_PARSER}`);
      this.skip();
    }
    const { site, admin } = await start(2, SITE);
    for (let i = 0; i < 30; i++) assert.equal((await fetch(`${site}/api/x${i}`, { headers: { connection: 'close' } })).status, 200);
    for (let i = 0; i < 4; i++) assert.equal((await fetch(`${site}/missing`)).status, 404);
    const text = await fetch(`${admin}metrics`);
    assert.match(text.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const samples = await parseExposition(await text.text(), 'prometheus');
    const api = { route: '/api/', server: '_ 127.0.0.1:0' };
    assert.equal(sampleValue(samples, 'gatekit_http_requests_total', { ...api, code: '2xx' }), 30);
    assert.equal(sampleValue(samples, 'gatekit_http_requests_total', { route: '/', code: '4xx' }), 4);
    assert.equal(sampleValue(samples, 'gatekit_http_request_duration_seconds_count', api), 30);
    assert.equal(sampleValue(samples, 'gatekit_http_request_duration_seconds_bucket', { ...api, le: '+Inf' }), 30);
    assert.ok(sampleValue(samples, 'gatekit_http_sent_bytes_total', api)! > 30 * 60);
    assert.ok(sampleValue(samples, 'gatekit_http_received_bytes_total')! > 34 * 30);
    assert.ok(sampleValue(samples, 'gatekit_connections_accepted_total')! >= 31); // 30 closed after one request, then kept alive
    assert.equal(sampleValue(samples, 'gatekit_workers', { state: 'ready' }), 2);
    assert.equal(sampleValue(samples, 'gatekit_worker_restarts_total'), 0);
    const om = await fetch(`${admin}metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.match(om.headers.get('content-type')!, /^application\/openmetrics-text/);
    const oms = await parseExposition(await om.text(), 'openmetrics');
    assert.equal(sampleValue(oms, 'gatekit_http_requests_total', { ...api, code: '2xx' }), 30);
    assert.equal(oms.find((s) => s.name === 'gatekit_http_requests_total')!.family, 'gatekit_http_requests');
    // counters do not go down when the workers that counted exit: a reload replaces both
    assert.equal((await postJson(`${admin}reload`, {})).status, 200);
    await served!.waitFor(/worker exited.*generation=1[\s\S]*worker exited.*generation=1/, 10_000);
    const after = await parseExposition(await (await fetch(`${admin}metrics`)).text(), 'prometheus');
    assert.equal(sampleValue(after, 'gatekit_http_requests_total', { ...api, code: '2xx' }), 30);
    assert.equal(sampleValue(after, 'gatekit_http_request_duration_seconds_count', api), 30);
    assert.equal(sampleValue(after, 'gatekit_reloads_total', { result: 'reloaded' }), 1);
  });

  it('/status shows the config, the workers with their numbers, and the upstreams', async () => {
    const a = await upstream((_req, res) => res.end('a'));
    ups.push(a);
    const { site, admin } = await start(2, `server { listen 127.0.0.1:0; route /p/ { proxy ${a.url} } }`);
    for (let i = 0; i < 6; i++) assert.equal(await (await fetch(`${site}/p/`)).text(), 'a');
    const s = (await (await fetch(`${admin}status`)).json()) as Record<string, any>;
    assert.equal(s.config.file, file());
    assert.equal(s.config.generation, 1);
    assert.equal(s.workers.length, 2);
    for (const w of s.workers) {
      assert.equal(w.state, 'ready');
      assert.ok(w.pid > 0 && w.rssBytes > 1e6 && w.cpuSeconds > 0 && w.loopDelayMs.p99 >= 0, JSON.stringify(w));
    }
    assert.equal(
      s.workers.reduce((n: number, w: { requests: number }) => n + w.requests, 0),
      6,
    );
    assert.deepEqual(
      s.upstreams.map((u: Record<string, unknown>) => [u.id, u.healthy, u.drained, u.requests, u.inFlight]),
      [[`127.0.0.1:${a.port}`, true, false, 6, 0]],
    );
  });

  for (const workers of [0, 2]) {
    it(`POST /reload answers with the verdict: 422 with diagnostics, then 200 and a new generation (workers ${workers})`, async () => {
      const { site, admin } = await start(workers, 'server { listen 127.0.0.1:0; respond "v1" }');
      writeFileSync(file(), `global { workers ${workers}; admin 127.0.0.1:0 }\nserver { listen 127.0.0.1:0; respnd "v2" }\n`);
      const refused = await postJson(`${admin}reload`, {});
      assert.equal(refused.status, 422);
      assert.equal(refused.json.outcome, 'refused');
      assert.deepEqual(
        (refused.json.diagnostics as Record<string, unknown>[]).map((d) => [d.file, d.line, d.column, d.severity, d.message]),
        [[file(), 2, 30, 'error', "unknown directive 'respnd' in server"]],
      );
      const close = { headers: { connection: 'close' } }; // a kept-alive connection may reach an old worker once more as it drains
      assert.equal(await (await fetch(site, close)).text(), 'v1');
      writeFileSync(file(), `global { workers ${workers}; admin 127.0.0.1:0 }\nserver { listen 127.0.0.1:0; respond "v2" }\n`);
      const took = await postJson(`${admin}reload`, {});
      assert.deepEqual([took.status, took.json.outcome], [200, 'reloaded']);
      const port = (await served!.waitFor(SECOND_LISTENING, 10_000))[1]; // the new generation's
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/`, close)).text(), 'v2');
      const s = (await (await fetch(`${admin}status`)).json()) as Record<string, any>;
      assert.equal(s.config.generation, 2);
      assert.deepEqual(
        s.reloads.map((r: { outcome: string }) => r.outcome),
        ['reloaded', 'refused'],
      );
      assert.equal(s.lastReload.outcome, 'reloaded');
    });
  }

  it('POST /config serves a new text, checked first; the file on disk stays unless write_config is on', async () => {
    const { admin } = await start(0, 'server { listen 127.0.0.1:0; respond "v1" }');
    const before = readFileSync(file(), 'utf8');
    const bad = await postJson(`${admin}config`, { config: 'global { admin 127.0.0.1:0 }\nserver { listen 127.0.0.1:0; respond 200 "x" {\n' });
    assert.equal(bad.status, 422);
    assert.equal((bad.json.diagnostics as { line: number }[])[0].line, 2);
    const next = 'global { admin 127.0.0.1:0 }\nserver { listen 127.0.0.1:0; respond "v2" }\n';
    const ok = await postJson(`${admin}config`, { config: next });
    assert.deepEqual([ok.status, ok.json.outcome, ok.json.written], [200, 'reloaded', false]);
    assert.equal(await (await fetch(`${admin}config`)).text(), next);
    assert.equal(readFileSync(file(), 'utf8'), before);
    const port = (await served!.waitFor(SECOND_LISTENING, 10_000))[1];
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'v2');
    const written = 'global { admin 127.0.0.1:0 { write_config on } }\nserver { listen 127.0.0.1:0; respond "v3" }\n';
    assert.equal((await postJson(`${admin}config`, { config: written })).json.written, true);
    assert.equal(readFileSync(file(), 'utf8'), written);
  });

  it('changes need a JSON body and no foreign Origin; reads and changes need the token when one is set', async () => {
    const token = 'a-long-enough-test-token-1234';
    const { admin } = await start(0, 'server { listen 127.0.0.1:0; respond "v1" }', `{ token ${token} }`);
    const auth = { authorization: `Bearer ${token}` };
    const noToken = await fetch(`${admin}status`);
    assert.deepEqual([noToken.status, noToken.headers.get('www-authenticate')], [401, 'Bearer realm="gatekit admin"']);
    assert.equal((await fetch(`${admin}status`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status, 401);
    assert.equal((await fetch(`${admin}status`, { headers: auth })).status, 200);
    const form = await fetch(`${admin}reload`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    assert.equal(form.status, 415);
    assert.equal((await postJson(`${admin}reload`, {}, { ...auth, origin: 'https://evil.example' })).status, 403);
    assert.equal((await postJson(`${admin}reload`, {}, { ...auth, origin: admin.replace(/\/$/, '') })).status, 200);
    assert.equal((await fetch(`${admin}reload`, { headers: auth })).status, 405);
    assert.equal((await fetch(`${admin}nothing`, { headers: auth })).status, 404);
  });

  it('refuses an admin address off loopback without a token, at check time', async () => {
    writeFileSync(file(), 'global { admin 0.0.0.0:2019 }\nserver { listen 127.0.0.1:0; respond "x" }\n');
    const r = await runCli(['check', file()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /site\.gate:1:16: error: admin on '0\.0\.0\.0:2019' is reachable from other hosts and has no token/);
  });

  it('drain takes an upstream out of rotation (a request in flight finishes), enable puts it back', async () => {
    let release: () => void = () => {};
    let arrived: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slowArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const a = await upstream((req, res) => {
      if (req.url !== '/p/slow') {
        res.end('a');
        return;
      }
      arrived();
      void held.then(() => res.end('a-slow'));
    });
    const b = await upstream((_req, res) => res.end('b'));
    ups.push(a, b);
    const { site, admin } = await start(2, `server { listen 127.0.0.1:0; route /p/ { proxy ${a.url} ${b.url} { balance first } } }`);
    assert.equal(await (await fetch(`${site}/p/`)).text(), 'a');
    const slow = fetch(`${site}/p/slow`).then((r) => r.text());
    await slowArrived;
    const drained = await postJson(`${admin}upstreams/${encodeURIComponent(`127.0.0.1:${a.port}`)}/drain`, {});
    assert.deepEqual([drained.status, drained.json.drained, drained.json.workers], [200, true, 2]);
    for (let i = 0; i < 6; i++) assert.equal(await (await fetch(`${site}/p/`)).text(), 'b');
    release();
    assert.equal(await slow, 'a-slow');
    const s = (await (await fetch(`${admin}status`)).json()) as { upstreams: { id: string; drained: boolean }[] };
    assert.deepEqual(
      s.upstreams.map((u) => u.drained),
      [true, false],
    );
    // a drain outlives a reload: the new workers are told as they become ready
    assert.equal((await postJson(`${admin}reload`, {})).status, 200);
    const after = (await (await fetch(`${admin}status`)).json()) as { workers: { generation: number; state: string }[] };
    assert.equal(after.workers.filter((w) => w.generation === 2 && w.state === 'ready').length, 2);
    const close = { headers: { connection: 'close' } };
    for (let i = 0; i < 4; i++) assert.equal(await (await fetch(`${site}/p/`, close)).text(), 'b');
    assert.equal((await postJson(`${admin}upstreams/${encodeURIComponent(`127.0.0.1:${a.port}`)}/enable`, {})).status, 200);
    assert.equal(await (await fetch(`${site}/p/`)).text(), 'a');
    assert.equal((await postJson(`${admin}upstreams/127.0.0.1:1/drain`, {})).status, 404);
  });

  it('/status shows an application pool with its processes', async () => {
    const hello = repoPath('samples', 'wsgi-hello');
    const { site, admin } = await start(2, `server { listen 127.0.0.1:0; route / { wsgi hello:application { chdir ${hello}; workers 2 } } }`);
    assert.equal((await fetch(site)).status, 200);
    type Pools = { pools: { name: string; kind: string; size: number; processes: { pid: number; state: string }[] }[] };
    const status = async (): Promise<Pools> => (await fetch(`${admin}status`)).json() as Promise<Pools>;
    let s = await status();
    // the second Python process may still be importing the app: ask again until it is ready (bounded)
    for (let i = 0; i < 100 && s.pools[0]?.processes.length !== 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = await status();
    }
    assert.deepEqual(
      s.pools.map((p) => [p.name, p.kind, p.size, p.processes.length, p.processes.every((x) => x.pid > 0 && x.state === 'ready')]),
      [['wsgi hello:application', 'wsgi', 2, 2, true]],
    );
  });

  it('/routes says which server, route and handler would serve a request', async () => {
    const { admin } = await start(0, `server a.test { listen 127.0.0.1:0; route /api/ { log; respond "x" } }\n${SITE}`);
    const r = (await (await fetch(`${admin}routes?host=a.test&path=/api/v1`)).json()) as Record<string, any>;
    assert.deepEqual([r.server.names, r.route, r.handler, r.chain, r.line], [['a.test'], '/api/', 'respond', 'log → respond', 2]);
    const d = (await (await fetch(`${admin}routes?host=other&path=/health`)).json()) as Record<string, any>;
    assert.deepEqual([d.server.names, d.route, d.handler], [[], '= /health', 'respond']);
  });
});
