import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/cli.js';
import { httpGet } from './mw-fixtures.js';

const LISTENING = /listening worker=1 url=http:\/\/127\.0\.0\.1:(\d+)/;
const LINE = /^(\d+) GET \/n\/(\d+) 200 (\d+) ([0-9a-f]{20}) x+$/;

/** hammer sends `n` requests, `width` at a time, each on its own connection (so both workers get some). */
async function hammer(port: number, n: number, width: number, from = 0): Promise<void> {
  let next = from;
  const lane = async (): Promise<void> => {
    while (next < from + n) {
      const i = next++;
      const res = await httpGet(`http://127.0.0.1:${port}/n/${i}`, { connection: 'close' });
      assert.equal(res.status, 200);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
}

describe('log across workers (gatekit run)', function () {
  this.timeout(20_000);
  let dir: string;
  let served: Served | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-mwlog-'));
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (log: string): Promise<number> => {
    const file = join(dir, 'site.gate');
    // A long padding makes each line ~4 KB: an interleaved or torn write would show.
    writeFileSync(file, `global { workers 2 }\nserver { listen 127.0.0.1:0\n  log { ${log} }\n  respond "ok" }\n`);
    served = serve(['run', file]);
    const [, port] = await served.waitFor(LISTENING, 8000);
    await served.waitFor(/master running/, 8000);
    return Number(port);
  };
  const format = `format "$pid $method $path $status $bytes $request_id ${'x'.repeat(4000)}"`;

  it('loses and interleaves no line when two workers append to one file', async () => {
    const log = join(dir, 'access.log');
    const port = await start(`${format}; to ${log}`);
    await hammer(port, 400, 16);
    await served!.stop();
    const lines = readFileSync(log, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a newline');
    assert.equal(lines.length, 400);
    const paths = new Set<string>();
    const ids = new Set<string>();
    const pids = new Set<string>();
    for (const l of lines) {
      const m = LINE.exec(l);
      assert.ok(m, `malformed line: ${l.slice(0, 120)}...`);
      pids.add(m[1]);
      paths.add(m[2]);
      ids.add(m[4]);
    }
    assert.equal(paths.size, 400, 'every request logged once');
    assert.equal(ids.size, 400, 'request ids are unique across workers');
    assert.equal(pids.size, 2, 'both workers served and logged');
  });

  it('reopens the file in every worker on USR1 (logrotate)', async () => {
    const log = join(dir, 'access.log');
    const port = await start(`${format}; to ${log}`);
    await hammer(port, 40, 8);
    renameSync(log, `${log}.1`);
    served!.child.kill('SIGUSR1');
    await served!.waitFor(/access log reopened[^\n]*\n[\s\S]*access log reopened/);
    await hammer(port, 40, 8, 40);
    await served!.stop();
    const count = (f: string): number =>
      readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => LINE.test(l)).length;
    assert.equal(count(`${log}.1`), 40);
    assert.equal(count(log), 40);
  });

  it('writes whole lines to stdout', async () => {
    const port = await start('format "$method $path $status"; to stdout');
    await hammer(port, 30, 6);
    await served!.stop();
    const got = served!
      .output()
      .split('\n')
      .filter((l) => l.startsWith('GET /n/'));
    assert.equal(got.length, 30);
    assert.ok(
      got.every((l) => /^GET \/n\/\d+ 200$/.test(l)),
      got.join('\n'),
    );
  });
});
