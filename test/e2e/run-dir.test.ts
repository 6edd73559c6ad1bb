import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDirsIn, serve, type Served } from '../helpers/cli.js';
import { rawGet } from '../helpers/raw-http.js';

// A third-party plugin in plain JavaScript whose master part leaves a note in the generation's
// run folder, and whose handler, in a worker, answers with that note from its own runDir.
const PLUGIN = `
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const note = { name: 'run_note', kind: 'handler', doc: 'Answer with the note the master left in the run folder', schema: {} };
export default class RunNotePlugin {
  static inject = [Symbol.for('gatekit.process')];
  constructor(proc) { this.name = 'run-note'; this.directives = [note]; this.proc = proc; }
  master(_directives, ctx) {
    return { start: async () => writeFileSync(join(ctx.runDir, 'note'), 'generation ' + ctx.generation), stop: async () => {} };
  }
  create() {
    return { handle: (ctx) => ctx.send(200, readFileSync(join(this.proc.runDir, 'note'), 'utf8') + ' in ' + this.proc.runDir) };
  }
}
`;

describe('runDir: one private folder per master and config generation', function () {
  this.timeout(30_000);
  let dir: string;
  let served: Served | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gk-rundir-'));
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** until waits for `cond`, checking as the test's own polling of the folder, at most `ms`. */
  const until = async (what: string, cond: () => boolean, ms = 10_000): Promise<void> => {
    for (const t = Date.now(); !cond(); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    }
  };

  it('is shared by the master and its workers, replaced on reload, and removed with its generation', async () => {
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { mode: 0o700 }); // gatekit's own temp folder, so the test sees exactly its run folders
    writeFileSync(join(dir, 'note.mjs'), PLUGIN);
    writeFileSync(join(dir, 'site.gate'), 'global { workers 1 }\nplugin ./note.mjs\nserver {\n  listen 127.0.0.1:0\n  run_note\n}\n');
    served = serve(['run', join(dir, 'site.gate')], { env: { TMPDIR: tmp } });
    const port = Number((await served.waitFor(/listening .*url=http:\/\/127\.0\.0\.1:(\d+)/, 15_000))[1]);
    const [first] = runDirsIn(tmp);
    assert.equal(statSync(first).mode & 0o777, 0o700, 'only this user may enter it');
    assert.match((await rawGet(port, '/')).text, new RegExp(`\r\n\r\ngeneration 1 in ${first}$`));

    served.child.kill('SIGHUP');
    await served.waitFor(/reloaded: new workers ready/, 15_000);
    const second = runDirsIn(tmp).find((d) => d !== first);
    assert.ok(second, 'the new generation has a folder of its own');
    assert.match((await rawGet(port, '/')).text, new RegExp(`\r\n\r\ngeneration 2 in ${second}$`), 'a new connection reaches a new worker');
    await until('the old generation to go', () => runDirsIn(tmp).length === 1);
    assert.deepEqual(runDirsIn(tmp), [second]);

    await served.stop();
    assert.deepEqual(runDirsIn(tmp), [], 'none is left once the master has stopped');
  });
});
