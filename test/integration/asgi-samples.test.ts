import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkGate, startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { hasPython3, openWs } from './asgi-gate.js';

describe('sample asgi-hello', function () {
  this.timeout(15_000);
  let gate: TestGate | undefined;
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed */
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('checks clean and serves HTTP, a stream and a WebSocket, at / and under /hello/', async () => {
    const file = repoPath('samples', 'asgi-hello', 'gatekit.gate');
    const text = readFileSync(file, 'utf8');
    assert.deepEqual(await checkGate(text, { file, env: { PORT: '0' } }), []);
    gate = await startGate(text, { file, env: { PORT: '0' } });
    assert.match(await (await fetch(gate.url('/'))).text(), /^Hello, ASGI! \(up since \d\d:\d\d:\d\d\)/);
    assert.match(await (await fetch(gate.url('/hello/'))).text(), /^Hello, ASGI!/);
    assert.equal((await (await fetch(gate.url('/stream'))).text()).split('\n').length, 6);
    const c = await openWs(gate.url('/ws').replace(/^http/, 'ws'));
    c.ws.send('hi');
    assert.equal(await c.next(), 'echo: hi');
    c.ws.close();
    await c.closed();
  });
});
