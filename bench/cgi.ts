import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Ratio, type Section } from './report.js';
import { envInt, settings as load } from './settings.js';

const TARGET = 1.5;
const SCRIPT = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhello from cgi\\n'\n";

/** settings: requests timed one by one, not wrk's load: the shared rounds; GATEKIT_BENCH_CGI_REQUESTS and _CONCURRENCY override the rest. */
const settings = {
  rounds: load.rounds,
  requests: envInt('GATEKIT_BENCH_CGI_REQUESTS', 400),
  concurrency: envInt('GATEKIT_BENCH_CGI_CONCURRENCY', cpus().length * 2),
};

/** Runner does one unit of work (a request, a spawn) and resolves when it is complete. */
type Runner = () => Promise<void>;

/** timeEach runs `n` units over `c` concurrent loops and returns the wall time per unit in ms. */
async function timeEach(run: Runner, n: number, c: number): Promise<number> {
  let left = n;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (left-- > 0) await run();
    }),
  );
  return (performance.now() - t0) / n;
}

/** bareSpawn runs the script directly, as a CGI server must at the least: spawn, read stdout to the end, reap. */
function bareSpawn(script: string): Runner {
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', QUERY_STRING: '', SCRIPT_NAME: '/cgi-bin/hello.sh' };
  return () =>
    new Promise((resolve, reject) => {
      const child = spawn(script, [], { env, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
      });
      child.once('error', reject);
      child.once('close', () => (out.endsWith('hello from cgi\n') ? resolve() : reject(new Error(`bare spawn printed ${JSON.stringify(out)}`))));
    });
}

/** viaGatekit asks gatekit for the script over keep-alive connections. */
function viaGatekit(port: number, agent: Agent): Runner {
  return () =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/cgi-bin/hello.sh', agent }, (res) => {
        let body = '';
        res.on('data', (b: Buffer) => {
          body += b.toString();
        });
        res.once('end', () =>
          res.statusCode === 200 && body === 'hello from cgi\n' ? resolve() : reject(new Error(`gatekit answered ${res.statusCode} ${JSON.stringify(body)}`)),
        );
      });
      req.once('error', reject);
      req.end();
    });
}

/** FLOOR_PY spawns the script N times one at a time with posix_spawn, reading stdout to the end, and prints ms per spawn. */
const FLOOR_PY = `
import os, sys, time
script, n = sys.argv[1], int(sys.argv[2])
env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'GATEWAY_INTERFACE': 'CGI/1.1', 'REQUEST_METHOD': 'GET'}
def one():
    r, w = os.pipe()
    pid = os.posix_spawn(script, [script], env, file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)], setsid=True)
    os.close(w)
    while os.read(r, 65536):
        pass
    os.close(r)
    os.waitpid(pid, 0)
for _ in range(50):
    one()
t = time.perf_counter()
for _ in range(n):
    one()
print((time.perf_counter() - t) / n * 1000)
`;

/**
 * posixSpawnFloor is the cheapest way to start the script: posix_spawn from a small
 * python3 process, one at a time. It is a reference, not the target's baseline.
 */
function posixSpawnFloor(script: string, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const py = spawn('python3', ['-I', '-S', '-c', FLOOR_PY, script, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    py.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    py.once('error', reject);
    py.once('close', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`posix_spawn floor exited with ${code}`))));
  });
}

interface Series {
  readonly gate: number[];
  readonly bare: number[];
}

async function measure(gate: Runner, bare: Runner, c: number): Promise<Series> {
  const s: Series = { gate: [], bare: [] };
  await timeEach(gate, 50, c); // warm-up
  await timeEach(bare, 50, c);
  for (let r = 0; r < settings.rounds; r++) {
    // alternate who goes first, so that drift hits both alike
    const order: [keyof Series, Runner][] =
      r % 2
        ? [
            ['bare', bare],
            ['gate', gate],
          ]
        : [
            ['gate', gate],
            ['bare', bare],
          ];
    for (const [k, run] of order) s[k].push(await timeEach(run, settings.requests, c));
    process.stderr.write(`  round ${r + 1}/${settings.rounds} (${c} at once): gatekit ${ms(s.gate[r])}/req, bare spawn ${ms(s.bare[r])}/spawn\n`);
  }
  return s;
}

/**
 * runCgi compares a CGI request through `gatekit run` with the bare cost of spawning the
 * same script from Node and reading its output, one at a time and several at once, in
 * alternating rounds of one run. Target: gatekit's time per request at most 1.5x the bare spawn.
 */
export async function runCgi(): Promise<Section> {
  const dir = tempDir('gatekit-bench-cgi-');
  let child: Child | undefined;
  try {
    mkdirSync(join(dir, 'cgi-bin'));
    const script = join(dir, 'cgi-bin', 'hello.sh');
    writeFileSync(script, SCRIPT);
    chmodSync(script, 0o755);
    const port = await freePort();
    const file = join(dir, 'cgi.gate');
    writeFileSync(
      file,
      `global { workers 0 }\nserver {\n    listen 127.0.0.1:${port}\n    route /cgi-bin/ { cgi ./cgi-bin { max_processes 64 } }\n    route = / { respond "ready" }\n}\n`,
    );
    child = startChild('gatekit run', process.execPath, [GATEKIT_BIN, 'run', file]);
    await waitFor200(port, child, 10_000, 10);
    const rows: string[][] = [];
    const notes: string[] = [];
    let passed = true;
    const ratios: Ratio[] = [];
    for (const c of [1, settings.concurrency]) {
      const agent = new Agent({ keepAlive: true, maxSockets: c });
      const s = await measure(viaGatekit(port, agent), bareSpawn(script), c);
      agent.destroy();
      if (c === 1) {
        const floors: number[] = [];
        for (let r = 0; r < 3; r++) floors.push(await posixSpawnFloor(script, settings.requests).catch(() => NaN));
        const floor = median(floors);
        if (Number.isFinite(floor)) {
          notes.push(
            `Floor: posix_spawn of the same script from a small python3 process, one at a time: ${ms(floor)}/spawn; gatekit one at a time is ${ratio(median(s.gate) / floor)} that (gatekit's own spawner uses posix_spawn too; see \`spawner\` in the cgi docs).`,
          );
        }
      }
      const paired = median(s.gate.map((g, i) => g / s.bare[i]));
      passed &&= paired <= TARGET;
      if (c === 1) ratios.push({ label: 'cgi: bare spawn time / gatekit time', value: 1 / paired, target: Number((1 / TARGET).toFixed(2)) });
      rows.push([
        c === 1 ? 'one at a time' : `${c} at once`,
        ms(median(s.gate)),
        ms(median(s.bare)),
        ms(median(s.gate) - median(s.bare)),
        ratio(paired),
        verdict(paired <= TARGET),
      ]);
      notes.push(
        `${c} at once, per-round ms per request: gatekit ${s.gate.map((x) => x.toFixed(2)).join(', ')}; bare spawn ${s.bare.map((x) => x.toFixed(2)).join(', ')}.`,
      );
    }
    return {
      title: 'cgi: time per request vs the bare cost of spawning the same script',
      header: ['load', 'gatekit (median ms/req)', 'bare spawn (median ms/spawn)', 'overhead', 'gatekit / bare (paired median)', `target <= ${TARGET}x`],
      rows,
      notes: [
        `gatekit: \`gatekit run\`, workers 0, \`cgi ./cgi-bin\` (spawner auto: the posix_spawn helper), GET /cgi-bin/hello.sh over keep-alive connections from this process; bare: child_process.spawn of the same /bin/sh script from this process, stdout read to the end.`,
        `${settings.rounds} rounds x ${settings.requests} requests (and as many spawns) per load, alternating who goes first, after a 50-request warm-up each.`,
        ...notes,
        `load average at the end: ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')} (${cpus().length} cores).`,
      ],
      passed,
      ratios,
    };
  } finally {
    await child?.stop();
    removeTempDir(dir);
  }
}
