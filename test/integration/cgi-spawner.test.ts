import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { startGate, type TestGate } from '../helpers/gate.js';
import { CGI_FILE, cgiConfig, HAS_PYTHON, openRequest, waitUntil } from './cgi-fixtures.js';

/** helperPids are the spawn helpers this test process runs (it hosts the gate). */
function helperPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (cmd.includes('gatekit_spawner.py') && ppid === process.pid) pids.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

async function parentOf(gate: TestGate): Promise<number> {
  const res = await fetch(gate.url('/cgi-bin/parent.sh'));
  assert.equal(res.status, 200);
  return Number(/ppid=(\d+)/.exec(await res.text())?.[1]);
}

(HAS_PYTHON ? describe : describe.skip)('cgi: the spawn helper', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('starts scripts from one helper process by default, and from the worker itself with spawner fork', async () => {
    gate = await startGate(cgiConfig(), { file: CGI_FILE });
    const [helper] = helperPids();
    assert.ok(helper, 'a helper runs');
    assert.equal(await parentOf(gate), helper);
    assert.equal(await parentOf(gate), helper);
    await gate.close();
    assert.deepEqual(helperPids(), [], 'the helper stops with the gate');

    gate = await startGate(cgiConfig('spawner fork'), { file: CGI_FILE });
    assert.deepEqual(helperPids(), []);
    assert.equal(await parentOf(gate), process.pid);
  });

  it('keeps serving when the helper dies: scripts start by fork meanwhile, and a new helper takes over', async () => {
    gate = await startGate(cgiConfig(), { file: CGI_FILE });
    const [first] = helperPids();
    process.kill(first, 'SIGKILL');
    assert.ok(await waitUntil(() => gate!.logs.some((l) => /CGI spawn helper exited.*signal=SIGKILL/.test(l))), gate.logs.join('\n'));
    assert.equal(await parentOf(gate), process.pid, 'forked while the helper is down');
    let parent = 0;
    for (let i = 0; i < 40 && !(parent !== process.pid && parent !== first && parent > 0); i++) {
      parent = await parentOf(gate);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(helperPids(), [parent], 'a new helper starts the scripts');
  });

  it('lets a script whose helper dies mid-answer finish it', async () => {
    gate = await startGate(cgiConfig(), { file: CGI_FILE });
    const [helper] = helperPids();
    const req = openRequest(gate.port, '/cgi-bin/slow-body.sh', 'GET');
    req.end();
    assert.equal((await req.firstData).text, 'line1\n');
    process.kill(helper, 'SIGKILL');
    const res = await req.response;
    assert.equal(res.body, 'line1\nline2\n');
  });

  /** stopHelper starts a gate with `timeout 300ms`, stops its helper (SIGSTOP) and checks a script asked of it gets 504; it returns the helper's pid. */
  async function stopHelper(): Promise<number> {
    gate = await startGate(cgiConfig('timeout 300ms'), { file: CGI_FILE });
    const [helper] = helperPids();
    process.kill(helper, 'SIGSTOP');
    const res = await fetch(gate.url('/cgi-bin/parent.sh'), { signal: AbortSignal.timeout(3000) });
    assert.equal(res.status, 504);
    await res.text();
    return helper;
  }

  /** resume sends SIGCONT to a helper stopHelper stopped, unless it was killed meanwhile. */
  function resume(helper: number | undefined): void {
    try {
      if (helper) process.kill(helper, 'SIGCONT');
    } catch {
      /* killed */
    }
  }

  it('answers 504 when the helper does not start a script within `timeout`, and serves on once it answers', async () => {
    let helper: number | undefined;
    try {
      helper = await stopHelper();
    } finally {
      resume(helper ?? helperPids()[0]);
    }
    assert.equal(await parentOf(gate!), helper);
    assert.ok(
      gate!.logs.some((l) => /timed out before it started.*status=504/.test(l)),
      gate!.logs.join('\n'),
    );
  });

  it('replaces a helper that leaves a script unstarted for a second (timeout 300ms): the requests after it are served', async () => {
    let stuck: number | undefined;
    try {
      stuck = await stopHelper();
      assert.ok(await waitUntil(() => gate!.logs.some((l) => /left a script unstarted for \d+ ms: replacing it/.test(l)), 5000), gate!.logs.join('\n'));
      assert.ok(await waitUntil(() => !helperPids().includes(stuck!), 5000), 'the stuck helper is gone');
      assert.notEqual(await parentOf(gate!), stuck);
    } finally {
      resume(stuck ?? helperPids()[0]);
    }
  });
});
