import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkGate, startGate } from '../../test/helpers/gate.js';
import { ASGI_FILE, hasPython3 } from '../../test/integration/asgi-gate.js';

describe('asgi', function () {
  this.timeout(15_000);

  it('reports a bad application spec and unknown options at their position', async () => {
    const [d] = await checkGate('server { listen 80; asgi "not a module" }');
    assert.deepEqual([d.code, d.span.line, d.span.col], ['GK_ASGI_APP', 1, 26]);
    const [u] = await checkGate('server { listen 80; asgi a:b { wrkers 2 } }');
    assert.equal(u.code, 'GK_DSL_UNKNOWN_OPTION');
    assert.equal(u.help, "did you mean 'workers'?");
    const [t] = await checkGate('server { listen 80; asgi a:b { threads 2 } }');
    assert.equal(t.code, 'GK_DSL_UNKNOWN_OPTION', 'asgi workers are event loops: no threads option');
  });

  it('stops every Python process and removes its sockets on close', async function () {
    if (!hasPython3()) this.skip(); // python3 (>= 3.8) is not installed
    const temp = mkdtempSync(join(tmpdir(), 'gk-asgi-test-')); // not shared with other gatekits on the machine
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = temp;
    try {
      const g = await startGate('server { listen 127.0.0.1:0; asgi apps:application { workers 2 } }', { file: ASGI_FILE });
      const pid = Number(await (await fetch(g.url('/pid'))).text());
      // the pool's sockets are in a folder of its own, in the generation's run folder
      const dirs = (): string[] =>
        readdirSync(temp).flatMap((r) =>
          readdirSync(join(temp, r))
            .filter((d) => d.startsWith('asgi-'))
            .map((d) => join(r, d)),
        );
      assert.ok(dirs().length >= 1, 'the pool has its socket folder');
      await g.close();
      assert.throws(() => process.kill(pid, 0), /ESRCH/);
      assert.deepEqual(readdirSync(temp), [], "the pool's folder goes, and its run folder with it");
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(temp, { recursive: true, force: true });
    }
  });
});
