import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, serve, type Served } from '../helpers/cli.js';

const LISTENING = /listening (?:worker=\d+ )?url=http:\/\/127\.0\.0\.1:(\d+)/g;

describe('gatekit reload waits for the verdict', function () {
  this.timeout(20_000);
  let dir: string;
  let served: Served | undefined;
  let blocker: Server | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-reload-'));
  });
  afterEach(async () => {
    if (served) {
      served.child.kill('SIGCONT');
      await served.stop();
      served = undefined;
    }
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
    blocker = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (): string => join(dir, 'live.gate');
  // A pid file of its own: reload must find it in a config whose errors are elsewhere.
  const write = (workers: number, server: string): void => writeFileSync(file(), `global { workers ${workers}; pid ./run.pid }\n${server}\n`);
  /** body fetches / from the address the server announced last. */
  const body = async (): Promise<string> => {
    const port = [...served!.output().matchAll(LISTENING)].pop()![1];
    return (await fetch(`http://127.0.0.1:${port}/`)).text();
  };
  const start = async (workers: number): Promise<void> => {
    write(workers, 'server { listen 127.0.0.1:0; respond "v1" }');
    served = serve(['run', file()]);
    await served.waitFor(new RegExp(LISTENING.source), 8000);
    if (workers) await served.waitFor(/master running/, 8000);
  };

  for (const workers of [0, 2]) {
    it(`exits 1 with the diagnostics when the new config is refused, 0 once it serves (workers ${workers})`, async () => {
      await start(workers);
      write(workers, 'server { listen 127.0.0.1:0; respond "v2" ');
      const refused = await runCli(['reload', file()], { ms: 15_000 });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /live\.gate:2:8: error: unclosed '\{': expected '\}' before the end of the file\n {4}2 \| server/);
      assert.match(refused.stderr, /gatekit reload: refused: the config has errors; pid \d+ keeps serving the old config/);
      assert.doesNotMatch(refused.stdout, /sent HUP/);
      assert.equal(await body(), 'v1');
      write(workers, 'server { listen 127.0.0.1:0; respond "v2" }');
      const took = await runCli(['reload', file()], { ms: 15_000 });
      assert.deepEqual([took.code, took.stderr], [0, '']);
      assert.match(took.stdout, /gatekit reload: reloaded \(pid \d+\)/);
      assert.equal(await body(), 'v2');
    });

    it(`exits 1 with the reason when the new config checks but cannot be served, and the old one keeps serving (workers ${workers})`, async () => {
      await start(workers);
      blocker = createServer();
      await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
      const taken = (blocker.address() as { port: number }).port;
      write(workers, `server { listen 127.0.0.1:${taken}; respond "v2" }`);
      const r = await runCli(['reload', file()], { ms: 15_000 });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`address already in use[^]*gatekit reload: failed; pid \\d+ keeps serving the old config`));
      assert.equal(await body(), 'v1');
    });
  }

  it('gives up after --wait with a clear message when no verdict comes', async () => {
    await start(0);
    served!.child.kill('SIGSTOP'); // the server cannot answer
    const r = await runCli(['reload', '--wait=500ms', file()]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /gatekit reload: sent HUP to \d+, but it gave no verdict within 0\.5s/);
    served!.child.kill('SIGCONT');
    await served!.waitFor(/reloaded/, 8000); // the HUP it held is taken once it runs again
  });
});
