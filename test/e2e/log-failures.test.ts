import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync, type ReadStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { serve, type Served } from '../helpers/cli.js';

const LISTENING = /listening (?:worker=\d+ )?url=http:\/\/127\.0\.0\.1:(\d+)/;

/** deadPort is a port nothing listens on (just closed), so a proxy to it fails at once. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const site = (upstream: number, global = ''): string =>
  `global { ${global} }\nserver { listen 127.0.0.1:0; route /dead/ { proxy http://127.0.0.1:${upstream} }; respond "ok" }\n`;

/** statuses sends `n` requests one after the other and returns their statuses. */
async function statuses(port: number, path: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await fetch(`http://127.0.0.1:${port}${path}`)).status);
  return out;
}

/** lines reads a stream line by line; next() resolves with the first line, from now on, that matches. */
function lines(stream: ReadStream): { next(re: RegExp, ms?: number): Promise<string> } {
  const seen: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: stream }).on('line', (l) => {
    seen.push(l);
    for (const w of waiters) w();
  });
  let from = 0;
  return {
    next: (re, ms = 4000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const i = seen.findIndex((l, k) => k >= from && re.test(l));
          if (i < 0) return;
          from = i + 1;
          done();
          resolve(seen[i]);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no line like ${re}; saw:\n${seen.join('\n')}`));
        }, ms);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}

describe('a log target that cannot be written', function () {
  this.timeout(15_000);
  let dir: string;
  let served: Served | undefined;
  const readers: ReadStream[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-logfail-'));
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    for (const r of readers.splice(0)) r.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const workers of [0, 2]) {
    it(`costs no request and not the process when stderr and stdout are closed (workers ${workers})`, async () => {
      const f = join(dir, 'site.gate');
      writeFileSync(f, site(await deadPort(), `workers ${workers}`));
      served = serve(['run', f]);
      const [, port] = await served.waitFor(LISTENING, 8000);
      served.child.stdout!.destroy(); // as `gatekit run 2>&1 | head -2` once head has exited
      served.child.stderr!.destroy();
      assert.deepEqual(await statuses(Number(port), '/dead/x', 20), Array(20).fill(502)); // each one logs an error line
      assert.deepEqual(await statuses(Number(port), '/', 3), [200, 200, 200]);
      assert.equal(served.child.exitCode, null, 'still running');
      served.child.kill('SIGTERM');
      assert.equal(await served.exited(), 0);
    });
  }

  it('drops and counts lines while an error_log file fails, says so once on stderr, and writes the count when it recovers', async function () {
    const fifo = join(dir, 'error.fifo');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      this.skip();
    } // a pipe, so the test decides when writes fail
    const f = join(dir, 'site.gate');
    writeFileSync(f, site(await deadPort(), `error_log ${fifo}`));
    const first = createReadStream(fifo);
    readers.push(first);
    served = serve(['run', f]);
    const [, port] = LISTENING.exec(await lines(first).next(LISTENING, 8000))!;
    first.destroy(); // no reader: the next write fails with EPIPE
    assert.deepEqual(await statuses(Number(port), '/dead/x', 5), Array(5).fill(502));
    await served.waitFor(/cannot write error log .*error\.fifo \(EPIPE/);
    const second = createReadStream(fifo);
    readers.push(second);
    const recovered = lines(second).next(/error log writable again; \d+ lines dropped \(EPIPE/);
    const poke = setInterval(() => void fetch(`http://127.0.0.1:${port}/dead/x`).catch(() => {}), 200);
    try {
      assert.match(await recovered, /; [1-9]\d* lines dropped/);
    } finally {
      clearInterval(poke);
    }
    assert.equal(served.output().match(/cannot write error log/g)?.length, 1, 'told once');
    assert.equal(served.child.exitCode, null);
  });
});
