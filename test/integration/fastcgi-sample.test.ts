import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { logValue } from './cgi-fixtures.js';
import { PHP_FPM, SKIP_REASON, startPhpFpm, type PhpFpm } from './fastcgi-fixtures.js';

describe('samples/php-site', () => {
  let fpm: PhpFpm | undefined;
  let gate: TestGate | undefined;
  before(async function () {
    if (!PHP_FPM) {
      console.log(`      skipped: ${SKIP_REASON}`);
      this.skip();
    }
    fpm = await startPhpFpm(2);
  });
  after(async () => {
    await gate?.close();
    await fpm?.stop();
  });

  it('serves the pages through php-fpm, the stylesheet statically, and the form with post/redirect/get', async () => {
    const file = repoPath('samples', 'php-site', 'gatekit.gate');
    gate = await startGate(readFileSync(file, 'utf8'), { file, env: { PORT: '0', PHP_FPM: `unix:${fpm!.socket}` } });
    assert.equal((await fetch(gate.url('/'), { redirect: 'manual' })).headers.get('location'), '/index.php');
    assert.match(await (await fetch(gate.url('/index.php'))).text(), /PHP 8\.\d+\.\d+ \(fpm-fcgi\), served through gatekit/);
    const info = await (await fetch(gate.url('/info.php/some/path?x=1'))).text();
    assert.match(info, /<td>SCRIPT_NAME<\/td><td>\/info\.php<\/td>/);
    assert.match(info, /<td>PATH_INFO<\/td><td>\/some\/path<\/td>/);
    assert.match(info, /<td>APP_ENV<\/td><td>sample<\/td>/);
    const css = await fetch(gate.url('/assets/style.css'));
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
    await css.text();
    const posted = await fetch(gate.url('/hello.php'), {
      method: 'POST',
      body: 'name=Ada',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(posted.status, 303);
    assert.equal(posted.headers.get('location'), '/hello.php?name=Ada');
    await posted.text();
    assert.ok(await logValue(gate.logs, /(hello\.php: greeted Ada)/), gate.logs.join('\n'));
    assert.match(await (await fetch(gate.url('/hello.php?name=Ada'))).text(), /Hello, Ada!/);
  });
});
