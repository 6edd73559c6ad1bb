import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/cli.js';
import { getOnce, RequestLoop } from '../helpers/load-loop.js';
import type { TestGate } from '../helpers/gate.js';
import { hasPython3, startWsgiGate, waitForLog, WSGI_TESTDATA } from './wsgi-gate.js';

const FILE = join(WSGI_TESTDATA, 'site.gate');
const text = async (url: string): Promise<string> => (await fetch(url)).text();

describe('wsgi process model', function () {
  this.timeout(20_000);
  let gate: TestGate | undefined;
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed: these tests run real Python workers */
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });
  const start = async (opts = ''): Promise<TestGate> =>
    (gate = await startWsgiGate(`server { listen 127.0.0.1:0; wsgi apps:application { ${opts} } }`, { file: FILE }));

  it('answers 502 for the request a killed Python worker held, and replaces the worker', async () => {
    const g = await start('workers 1');
    const victim = Number(await text(g.url('/pid')));
    const pending = fetch(g.url('/slow?5'));
    await waitForLog(g.logs, new RegExp(`sleeping in pid ${victim}`)); // the worker holds the request
    process.kill(victim, 'SIGKILL');
    const res = await pending;
    assert.equal(res.status, 502);
    const body = await res.text();
    const id = /^502 Bad Gateway\nrequest id: (\w+)\n$/.exec(body)?.[1];
    assert.ok(id, `a generic body, the pid kept for the log: ${body}`);
    await waitForLog(g.logs, new RegExp(`error wsgi worker ${victim} exited before it answered request_id=${id} `));
    await waitForLog(g.logs, new RegExp(`exited with signal SIGKILL .*pid=${victim}`));
    const next = Number(await text(g.url('/pid')));
    assert.notEqual(next, victim);
    const died = await fetch(g.url('/die'));
    assert.equal(died.status, 502, 'an app that kills its own process gets 502 too');
    assert.equal((await fetch(g.url('/'))).status, 200);
  });

  it('logs a client that leaves before the answer as 499 at info, in one line, with no error', async () => {
    const g = await start('workers 1');
    const leaving = new AbortController();
    const pending = fetch(g.url('/slow?1'), { signal: leaving.signal }).catch(() => undefined);
    await waitForLog(g.logs, /sleeping in pid/);
    leaving.abort();
    await pending;
    await waitForLog(g.logs, /info client closed the request request_id=\S+ method=GET uri=\/slow\?1 status=499$/);
    assert.ok(!g.logs.some((l) => / error /.test(l)), g.logs.join('\n'));
  });

  it('recycles a Python worker after max_requests, with no failed request', async () => {
    const g = await start('workers 1; max_requests 3');
    const pids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await fetch(g.url('/pid'));
      assert.equal(res.status, 200);
      pids.push(await res.text());
    }
    assert.equal(new Set(pids.slice(0, 3)).size, 1);
    assert.notEqual(pids[3], pids[0]);
    assert.equal(new Set(pids).size, 3);
  });

  it('answers 504 past timeout, killing the stuck worker and replacing it', async () => {
    const g = await start('workers 1; timeout 300ms');
    const stuck = Number(await text(g.url('/pid')));
    const t0 = Date.now();
    const res = await fetch(g.url('/slow?30'));
    assert.equal(res.status, 504);
    assert.ok(Date.now() - t0 < 3000);
    await waitForLog(g.logs, new RegExp(`wsgi worker ${stuck} did not answer within 300ms; killing it`));
    assert.notEqual(Number(await text(g.url('/pid'))), stuck);
  });

  it('answers 503 while the application fails to import, with its traceback in the log', async () => {
    const g = (gate = await startWsgiGate('server { listen 127.0.0.1:0; wsgi broken:application }', { file: FILE }));
    await waitForLog(g.logs, /ImportError: this app is broken on purpose/);
    await waitForLog(g.logs, /fails to load \(traceback above\); retrying/);
    const res = await fetch(g.url('/'));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
  });

  it('logs the traceback of an app that cannot be imported once, then one line per retry naming the interpreter', async () => {
    const g = (gate = await startWsgiGate('server { listen 127.0.0.1:0; wsgi missing:application }', { file: FILE }));
    // the worker is restarted with backoff (0, 0, 100, 200 ms...): wait for three retries
    const retry =
      /warn \[wsgi\] gatekit-wsgi: cannot load the application missing:application with (\S+) \(ModuleNotFoundError: No module named 'gatekit_test_no_such_module'\); .*set the wsgi 'python' option.*; retrying with backoff \(traceback logged once\)/;
    const until = Date.now() + 10_000;
    while (g.logs.filter((l) => retry.test(l)).length < 3) {
      assert.ok(Date.now() < until, `fewer than 3 retries within 10s:\n${g.logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(g.logs.filter((l) => /Traceback \(most recent call last\)/.test(l)).length, 1, 'the traceback is logged once');
    assert.match(retry.exec(g.logs.find((l) => retry.test(l))!)![1], /python/, 'the line names the interpreter');
    const noisy = g.logs.filter((l) => /exited with code 3/.test(l) && !/ debug /.test(l));
    assert.deepEqual(noisy, [], 'a retry is one line: the exit it explained is logged at debug level only');
    const res = await fetch(g.url('/'));
    assert.equal(res.status, 503);
  });

  it('serves requests at once from the threads of one process', async () => {
    const g = await start('workers 1; threads 4');
    const t0 = Date.now();
    const all = await Promise.all([1, 2, 3, 4].map(() => fetch(g.url('/slow?0.6')).then((r) => r.text())));
    assert.deepEqual(all, ['slept', 'slept', 'slept', 'slept']);
    assert.ok(Date.now() - t0 < 2000, `4 requests of 0.6s took ${Date.now() - t0}ms on 4 threads`);
    const env = (await (await fetch(g.url('/environ'))).json()) as Record<string, unknown>;
    assert.equal(env['wsgi.multithread'], true);
  });

  it('refuses to start when the python command does not run', async () => {
    await assert.rejects(
      startWsgiGate('server { listen 127.0.0.1:0; wsgi apps:application { python ./no-such-python } }', { file: FILE }),
      /could not run the wsgi keeper/,
    );
  });
});

describe('wsgi under gatekit run (prefork)', function () {
  this.timeout(30_000);
  let served: Served | undefined;
  let loop: RequestLoop | undefined;
  let dir: string;
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed */
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-wsgi-'));
  });
  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
    await served?.stop();
    served = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('shares one Python pool between Node workers, and a reload starts a new pool', async () => {
    const file = join(dir, 'site.gate');
    const conf = (n: number): string => `global { workers 2 }\nserver { listen 127.0.0.1:0; wsgi apps:application { chdir ${WSGI_TESTDATA}; workers ${n} } }\n`;
    writeFileSync(file, conf(2));
    served = serve(['run', file]);
    const [, port] = await served.waitFor(/listening worker=1 url=http:\/\/127\.0\.0\.1:(\d+)/, 15_000);
    await served.waitFor(/master running/, 15_000);
    const pid = async (): Promise<string> => (await getOnce(Number(port), '/pid')).body ?? '';
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 2; i++) seen.add(await pid());
    assert.equal(seen.size, 2, 'both Python workers served');
    loop = new RequestLoop(Number(port), '/pid');
    await loop.waitFor(10);
    writeFileSync(file, conf(1));
    served.child.kill('SIGHUP');
    await served.waitFor(/reloaded: new workers ready/, 15_000);
    // Old workers may take a last request or two while their drain message travels: mark after they are gone.
    await served.waitFor(/worker exited role=master worker=\d pid=\d+ generation=1[\s\S]*worker exited role=master worker=\d pid=\d+ generation=1/, 15_000);
    const mark = loop.outcomes.length;
    await loop.waitFor(mark + 10);
    const outs = await loop.stop();
    loop = undefined;
    assert.deepEqual(
      outs.filter((o) => o.status !== 200),
      [],
      'no request failed during the reload',
    );
    const after = new Set(outs.slice(mark).map((o) => o.body ?? ''));
    assert.equal(after.size, 1, 'the new generation has its own one-process pool');
    assert.ok(![...after].some((p) => seen.has(p)));
  });
});
