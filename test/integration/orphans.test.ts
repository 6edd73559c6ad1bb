import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/cli.js';
import { ASGI_TESTDATA } from './asgi-gate.js';
import { rawGet, rawRequest } from '../helpers/raw-http.js';
import { CGI_DIR } from './cgi-fixtures.js';
import { hasPython3, WSGI_TESTDATA } from './wsgi-gate.js';

/** stat reads a process's parent pid and state from /proc, or undefined when it is gone. */
function stat(pid: number): { ppid: number; state: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' '); // the command name may hold spaces
  return { state: rest[0], ppid: Number(rest[1]) };
}

/** alive tells whether a process runs (a zombie waiting for its reaper does not). */
function alive(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z';
}

/** descendants lists every live process below `root`, from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    const s = Number.isInteger(pid) ? stat(pid) : undefined;
    if (s && s.state !== 'Z') children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  const out: number[] = [];
  for (let todo = [root]; todo.length;) {
    const next = children.get(todo.pop()!) ?? [];
    out.push(...next);
    todo.push(...next);
  }
  return out;
}

/** until resolves once `test` holds, polling every 50 ms; it throws with `why()` after `ms`. */
async function until(test: () => boolean, why: () => string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('no process outlives gatekit', function () {
  this.timeout(30_000);
  let dir: string;
  let served: Served | undefined;
  let recorded: number[] = [];
  before(function () {
    if (!hasPython3()) this.skip(); // python3 (>= 3.8) is not installed: the pools run real Python processes
    if (!existsSync('/proc/self/stat')) this.skip(); // the test finds the process tree through Linux's /proc
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gk-orphans-'));
    recorded = [];
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    for (const pid of recorded) if (alive(pid)) process.kill(pid, 'SIGKILL'); // what the test started, left by a failure
    rmSync(dir, { recursive: true, force: true });
  });

  for (const workers of [0, 1]) {
    it(`ends the Python pools, the CGI spawn helper and its scripts, and removes their folders, after kill -9 of gatekit (workers ${workers})`, async () => {
      const temp = join(dir, 'tmp');
      writeFileSync(
        join(dir, 'site.gate'),
        `global { workers ${workers} }
        server { listen 127.0.0.1:0
          route /w/ { wsgi apps:application { chdir ${WSGI_TESTDATA}; workers 2 } }
          route /a/ { asgi apps:application { chdir ${ASGI_TESTDATA} } }
          route /cgi-bin/ { cgi ${CGI_DIR} { spawner helper } }
        }\n`,
      );
      mkdirSync(temp, { mode: 0o700 }); // gatekit's temp folder: its pools' and helpers' folders go there
      served = serve(['run', join(dir, 'site.gate')], { env: { TMPDIR: temp } });
      const [, port] = await served.waitFor(/listening .*url=http:\/\/127\.0\.0\.1:(\d+)/, 15_000);
      for (const path of ['/w/pid', '/a/pid', '/cgi-bin/env.sh']) assert.equal((await rawGet(Number(port), path)).status, 200, path);
      // a script in flight that waits on a child of its own; the request ends when gatekit does
      void rawRequest(Number(port), 'GET /cgi-bin/sleepy.sh HTTP/1.1\r\nHost: x\r\n\r\n', 25_000);
      const [, grandchild] = await served.waitFor(/grandchild (\d+)/, 5000);
      recorded = descendants(served.child.pid!);
      const folders = readdirSync(temp);
      assert.ok(
        recorded.length >= 7 + workers && recorded.includes(Number(grandchild)),
        `keepers, 2 + 1 workers, the helper, its script and its child run: ${recorded.join(' ')}`,
      );
      assert.ok(
        ['gatekit-run-', 'gatekit-cgi-'].every((p) => folders.some((f) => f.startsWith(p))),
        folders.join(' '),
      );
      const pools = readdirSync(
        join(
          temp,
          folders.find((f) => f.startsWith('gatekit-run-'))!,
        ),
      );
      assert.ok(
        ['wsgi-', 'asgi-'].every((p) => pools.some((f) => f.startsWith(p))),
        `the pools' folders are in the generation's run folder: ${pools.join(' ')}`,
      );

      served.child.kill('SIGKILL');
      await served.exited();
      const left = (): string =>
        recorded
          .filter(alive)
          .map((pid) => `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`)
          .join('\n');
      await until(
        () => recorded.every((pid) => !alive(pid)),
        () => `still running after gatekit was killed:\n${left()}`,
        15_000,
      );
      await until(
        () => readdirSync(temp).length === 0,
        () => `left behind: ${readdirSync(temp).join(' ')}`,
        5000,
      );
    });
  }
});
