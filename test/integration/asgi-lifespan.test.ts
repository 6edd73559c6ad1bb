import assert from 'node:assert/strict';
import { startGate, type TestGate } from '../helpers/gate.js';
import { ASGI_FILE, hasPython3, waitForLog } from './asgi-gate.js';

const text = async (url: string): Promise<string> => (await fetch(url)).text();

describe('asgi lifespan and process model', function () {
  this.timeout(20_000);
  let gate: TestGate | undefined;
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed: the asgi plugin runs real Python processes */
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });
  const start = async (app = 'apps:application', opts = ''): Promise<TestGate> =>
    (gate = await startGate(`server { listen 127.0.0.1:0; asgi ${app} { ${opts} } }`, { file: ASGI_FILE }));

  it('runs lifespan startup before taking traffic, shares its state, and runs shutdown on stop', async () => {
    const g = await start('apps:application', 'workers 2');
    const startups = g.logs.filter((l) => /lifespan startup in pid/.test(l));
    assert.equal(startups.length, 2, 'both workers started up before the pool was ready');
    const state = JSON.parse(await text(g.url('/state'))) as { greeting: string; pid: number };
    assert.equal(state.greeting, 'hello from lifespan');
    assert.ok(state.pid > 0, 'state set in the worker that serves');
    const logs = g.logs;
    await g.close();
    gate = undefined;
    assert.equal(logs.filter((l) => /lifespan shutdown in pid/.test(l)).length, 2);
  });

  it("fails the boot with the application's message when lifespan startup fails", async () => {
    await assert.rejects(
      start('apps:failing_startup'),
      /the asgi application 'apps:failing_startup' failed to start: lifespan startup failed: the database is not there/,
    );
  });

  it('serves an application that does not speak lifespan', async () => {
    const g = await start('apps:no_lifespan');
    assert.equal(await text(g.url('/')), 'no lifespan here');
  });

  it('recycles a Python worker after max_requests, running its shutdown, with no failed request', async () => {
    const g = await start('apps:application', 'max_requests 3');
    const pids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await fetch(g.url('/pid'));
      assert.equal(res.status, 200);
      pids.push(await res.text());
    }
    assert.equal(new Set(pids.slice(0, 3)).size, 1);
    assert.equal(new Set(pids).size, 3);
    await waitForLog(g.logs, new RegExp(`lifespan shutdown in pid ${pids[0]}`));
  });

  it('answers 502 for the requests a killed Python worker held, and replaces the worker', async () => {
    const g = await start();
    const victim = Number(await text(g.url('/pid')));
    const pending = Promise.all([fetch(g.url('/slow?5')), fetch(g.url('/slow?5.0'))]);
    await waitForLog(g.logs, new RegExp(`sleeping 5 in pid ${victim}`)); // both requests are in the worker's event loop
    await waitForLog(g.logs, new RegExp(`sleeping 5.0 in pid ${victim}`));
    process.kill(victim, 'SIGKILL');
    assert.deepEqual(
      (await pending).map((r) => r.status),
      [502, 502],
    );
    await waitForLog(g.logs, new RegExp(`exited with signal SIGKILL .*pid=${victim}`));
    assert.notEqual(Number(await text(g.url('/pid'))), victim);
  });

  it('replaces a worker whose event loop stays blocked past timeout, logging where it was stuck', async () => {
    const g = await start('apps:application', 'timeout 600ms');
    const victim = Number(await text(g.url('/pid')));
    const blocked = await fetch(g.url('/block?8'));
    assert.ok([502, 504].includes(blocked.status), `status ${blocked.status}`);
    await waitForLog(g.logs, new RegExp(`event loop blocked for [\\d.]+s .*stopping worker pid ${victim}`));
    await waitForLog(g.logs, /time\.sleep/); // the stack shows the blocking call
    const after = Number(await text(g.url('/pid')));
    assert.ok(after > 0 && after !== victim, `a new worker answers (pid ${after})`);
  });

  it('answers 503 while the application fails to import, with its traceback in the log', async () => {
    const g = await start('broken:application');
    await waitForLog(g.logs, /ImportError: this asgi app is broken on purpose/);
    const res = await fetch(g.url('/'));
    assert.equal(res.status, 503);
  });
});
