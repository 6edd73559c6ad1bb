import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';

describe('samples/node-app', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('serves the Node app at / and, with the mount stripped, under /api/', async () => {
    const file = repoPath('samples', 'node-app', 'gatekit.gate');
    gate = await startGate(readFileSync(file, 'utf8'), { file, env: { PORT: '0' } });
    assert.match(await (await fetch(gate.url('/'))).text(), /^hello from a Node app in worker \d+/);
    const time = (await (await fetch(gate.url('/api/time'))).json()) as { pid: number };
    assert.equal(time.pid, process.pid);
    const echo = await fetch(gate.url('/api/echo'), { method: 'POST', body: 'hello' });
    assert.deepEqual(await echo.json(), { echo: 'hello' });
    assert.equal((await fetch(gate.url('/api/missing'))).status, 404);
  });
});
