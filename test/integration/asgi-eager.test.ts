import assert from 'node:assert/strict';
import { startGate, type TestGate } from '../helpers/gate.js';
import { ASGI_FILE, hasPython3, waitForLog } from './asgi-gate.js';

// gatekit_asgi.py runs an app's first step in the turn that read the request, with no Task
// unless the app waits or asks for its task: what the app sees must be what a Task gives it.
describe('asgi apps started at once (eager first step)', function () {
  this.timeout(20_000);
  let gate: TestGate | undefined;
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed: the asgi plugin runs real Python processes */
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });
  const start = async (): Promise<TestGate> =>
    (gate ??= await startGate(`server { listen 127.0.0.1:0\n route / { asgi apps:application { workers 1 } } }`, { file: ASGI_FILE }));
  const text = async (g: TestGate, path: string): Promise<[number, string]> => {
    const res = await fetch(g.url(path));
    return [res.status, await res.text()];
  };

  it('gives each request its own copy of the context: a ContextVar one request sets is not seen by the next', async () => {
    const g = await start();
    assert.deepEqual(await text(g, '/eager/ctx?a'), [200, 'unset a']);
    assert.deepEqual(await text(g, '/eager/ctx?b'), [200, 'unset b']);
    const together = await Promise.all(['c-wait', 'd', 'e-wait', 'f'].map((tag) => text(g, `/eager/ctx?${tag}`)));
    assert.deepEqual(
      together,
      [200, 200, 200, 200].map((s, i) => [s, `unset ${['c-wait', 'd', 'e-wait', 'f'][i]}`]),
    );
  });

  it('runs the app as one task: asyncio.current_task() is the same before and after a wait, and asyncio.timeout works', async () => {
    const g = await start();
    assert.deepEqual(await text(g, '/eager/task'), [200, 'one task']);
  });

  it('resumes an app whose first step yields to the loop (asyncio.sleep(0))', async () => {
    const g = await start();
    assert.deepEqual(await text(g, '/eager/yield-none'), [200, 'after sleep(0)']);
  });

  it('delivers a cancellation to the app where it waits, asked in its first step or later', async () => {
    const g = await start();
    assert.deepEqual(await text(g, '/eager/cancel-self'), [200, 'cancelled']);
    assert.deepEqual(await text(g, '/eager/cancel-later'), [200, 'cancelled while waiting']);
  });

  it('answers 500 with the traceback logged for an exception after a wait, and keeps serving', async () => {
    const g = await start();
    assert.equal((await fetch(g.url('/eager/boom-after-wait'))).status, 500);
    await waitForLog(g.logs, /ValueError: boom after a wait/);
    assert.deepEqual(await text(g, '/'), [200, 'hello from asgi\n']);
  });

  it('ends the worker on SystemExit from the first step, as from a task, and a new worker serves', async () => {
    const g = await start();
    const before = await text(g, '/pid');
    assert.ok([500, 502].includes((await fetch(g.url('/eager/exit'))).status));
    await waitForLog(g.logs, /exiting pid/);
    let after = before;
    for (let i = 0; i < 100 && after[1] === before[1]; i++) after = await text(g, '/pid');
    assert.equal(after[0], 200);
    assert.notEqual(after[1], before[1], 'another Python process answers');
  });
});
