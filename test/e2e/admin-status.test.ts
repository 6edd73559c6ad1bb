import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, serve, type Served } from '../helpers/cli.js';

const LISTENING = /listening (?:worker=\d+ )?url=http:\/\/127\.0\.0\.1:(\d+)/;

describe('gatekit status and top', function () {
  this.timeout(30_000);
  let dir: string;
  let served: Served | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-status-'));
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (admin: string): Promise<{ file: string; site: string }> => {
    const file = join(dir, 'site.gate');
    writeFileSync(file, `global { workers 2; admin ${admin} }\nserver { listen 127.0.0.1:0; respond "x" }\n`);
    served = serve(['run', file]);
    const port = (await served.waitFor(LISTENING, 10_000))[1];
    await served.waitFor(/master running/, 10_000);
    return { file, site: `http://127.0.0.1:${port}` };
  };

  it('status prints the workers from the admin API on a unix socket, with the token from the config', async () => {
    const { file, site } = await start(`unix:${join(dir, 'admin.sock')} { token a-test-token-long-enough }`);
    for (let i = 0; i < 5; i++) await (await fetch(site)).text();
    const r = await runCli(['status', file], { ms: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^gatekit \\d+\\.\\d+\\.\\d+  pid \\d+  up \\d+s  ${file.replace(/[.]/g, '\\.')}  generation 1\n`));
    assert.match(r.stdout, /last reload: none/);
    const rows = r.stdout.split('\n').filter((l) => /^\d+\s+\d+\s+1\s+ready/.test(l));
    assert.equal(rows.length, 2, r.stdout);
    assert.equal(
      rows.reduce((n, l) => n + Number(l.split(/\s+/)[4]), 0),
      5,
    );
    assert.match(r.stdout, /WORKER\s+PID\s+GEN\s+STATE\s+REQUESTS\s+IN FLIGHT\s+RSS\s+CPU\s+LOOP P99/);
  });

  it('top refreshes every second, with requests per second', async () => {
    const { file } = await start(`unix:${join(dir, 'admin.sock')}`);
    const top = serve(['top', file]); // it runs until Ctrl-C
    try {
      await top.waitFor(/\x1b\[H\x1b\[2J[^\x1b]*REQ\/S[^\x1b]*\x1b\[H\x1b\[2J[^\x1b]*REQ\/S/, 10_000); // two frames
      top.child.kill('SIGINT');
      assert.equal(await top.exited(), 0);
    } finally {
      await top.stop();
    }
  });

  it('says so when the config has no admin address, or nothing answers there', async () => {
    const file = join(dir, 'plain.gate');
    writeFileSync(file, 'server { listen 127.0.0.1:0; respond "x" }\n');
    const none = await runCli(['status', file]);
    assert.deepEqual([none.code, none.stderr.trim()], [3, `gatekit: ${file} has no admin address: add 'admin 127.0.0.1:2019' to its global block`]);
    writeFileSync(file, `global { admin unix:${join(dir, 'nobody.sock')} }\nserver { listen 127.0.0.1:0; respond "x" }\n`);
    const down = await runCli(['status', file]);
    assert.equal(down.code, 3);
    assert.match(down.stderr, /no admin API answers at unix:.*nobody\.sock \(ENOENT\): is the server running\?/);
  });
});
