import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { hasPython3, startWsgiGate } from './wsgi-gate.js';

describe('sample wsgi-hello', function () {
  this.timeout(15_000);
  let gate: TestGate | undefined;
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed */
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('checks clean and serves its pages, at / and under /hello/', async () => {
    const file = repoPath('samples', 'wsgi-hello', 'gatekit.gate');
    const text = readFileSync(file, 'utf8');
    assert.deepEqual(await checkGate(text, { file, env: { PORT: '0' } }), []);
    gate = await startWsgiGate(text, { file, env: { PORT: '0' } });
    assert.match(await (await fetch(gate.url('/'))).text(), /mounted at <code><\/code>/);
    assert.match(await (await fetch(gate.url('/hello/'))).text(), /mounted at <code>\/hello<\/code>.*action="\/hello\/greet"/s);
    const greet = await fetch(gate.url('/greet'), { method: 'POST', body: new URLSearchParams({ name: 'Ada' }) });
    assert.equal(await greet.text(), 'Hello, Ada!\n');
    assert.equal((await (await fetch(gate.url('/stream'))).text()).split('\n').length, 11);
  });
});
