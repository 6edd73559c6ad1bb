import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { HAS_PYTHON, logValue } from './cgi-fixtures.js';

describe('samples/cgi-bin', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('runs the shell script and the Python guestbook, and never the config file', async function () {
    if (!HAS_PYTHON) this.skip(); // the sample maps .py to python3
    const file = repoPath('samples', 'cgi-bin', 'gatekit.gate');
    gate = await startGate(readFileSync(file, 'utf8'), { file, env: { PORT: '0' } });
    const root = await fetch(gate.url('/'), { redirect: 'manual' });
    assert.equal(root.headers.get('location'), '/cgi-bin/hello.sh');
    const hello = await (await fetch(gate.url('/cgi-bin/hello.sh/a/b?name=Ada'))).text();
    assert.match(hello, /^Hello, Ada!\n/);
    assert.match(hello, /\nSCRIPT_NAME=\/cgi-bin\/hello\.sh\nPATH_INFO=\/a\/b\n/);
    const form = await fetch(gate.url('/cgi-bin/guestbook.py'));
    assert.match(await form.text(), /sign the guestbook/);
    const signed = await fetch(gate.url('/cgi-bin/guestbook.py'), {
      method: 'POST',
      body: 'name=Ada+L&message=hi',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(signed.status, 303);
    assert.equal(signed.headers.get('location'), '/cgi-bin/guestbook.py?thanks=Ada%20L');
    assert.ok(await logValue(gate.logs, /(guestbook: signed by Ada L)/));
    const thanks = await fetch(new URL(signed.headers.get('location')!, gate.url('/')));
    assert.match(await thanks.text(), /thank you, Ada L/);
    assert.equal((await fetch(gate.url('/cgi-bin/gatekit.gate'))).status, 403);
  });
});
