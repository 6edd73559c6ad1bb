import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cpuMs, startChild } from './procs.js';
import { settings } from './settings.js';

/** LoadResult is one load-generator run against one URL. */
export interface LoadResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** errors counts socket errors, timeouts and non-2xx answers. */
  readonly errors: number;
  /** generatorCores is the CPU the load generator itself used, in cores (Linux; sampled near the end of the run). */
  readonly generatorCores?: number;
}

/** LoadOptions shape a run: connections kept alive and seconds of load. */
export interface LoadOptions {
  readonly connections: number;
  readonly seconds: number;
}

/** LoadGenerator drives HTTP load at a URL; `name` says which tool it is. */
export interface LoadGenerator {
  readonly name: string;
  run(url: string, o: LoadOptions): Promise<LoadResult>;
}

/** runTool runs a load tool to its end and returns its stdout, with the CPU it used (in cores) when that could be read. */
export async function runTool(name: string, cmd: string, args: string[], seconds: number): Promise<{ out: string; cores?: number }> {
  const child = startChild(name, cmd, args);
  const t0 = performance.now();
  let cores: number | undefined;
  // the tool's own CPU, read just before it exits: what the servers under test could not use
  const probe = setTimeout(
    () => {
      const used = child.proc.pid ? cpuMs(child.proc.pid) : undefined;
      if (used !== undefined) cores = used / (performance.now() - t0);
    },
    Math.max(0, seconds * 1000 - 300),
  );
  let out = '';
  child.proc.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const timer = setTimeout(() => void child.stop(1000), (seconds + 15) * 1000);
  const code = await child.exited;
  clearTimeout(timer);
  clearTimeout(probe);
  if (code !== 0) throw new Error(`${name} exited with ${code}:\n${child.output()}`);
  return { out, ...(cores !== undefined ? { cores } : {}) };
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function wrkDuration(text: string, label: string): number {
  const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
  if (!m) throw new Error(`cannot read '${label}' from wrk output:\n${text}`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** parseWrk reads `wrk --latency` output. */
export function parseWrk(text: string): LoadResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const total = /(\d+) requests in/.exec(text);
  if (!rps || !total) throw new Error(`cannot read wrk output:\n${text}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const errors = (sock ? sock.slice(1).reduce((n, v) => n + Number(v), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return { rps: Number(rps[1]), p50Ms: wrkDuration(text, '50%'), p99Ms: wrkDuration(text, '99%'), requests: Number(total[1]), errors };
}

const wrk: LoadGenerator = {
  name: 'wrk',
  async run(url, o) {
    // wrk needs a connection per thread at least (the proxy's moderate load has 2).
    const threads = Math.min(settings.threads, o.connections);
    const { out, cores } = await runTool('wrk', 'wrk', [`-t${threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--latency', url], o.seconds);
    return { ...parseWrk(out), ...(cores !== undefined ? { generatorCores: cores } : {}) };
  },
};

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

function autocannonAt(bin: string): LoadGenerator {
  return {
    name: 'autocannon',
    async run(url, o) {
      const { out, cores } = await runTool('autocannon', process.execPath, [bin, '-c', String(o.connections), '-d', String(o.seconds), '-j', url], o.seconds);
      const j = JSON.parse(out) as AutocannonJson;
      return {
        rps: j.requests.average,
        p50Ms: j.latency.p50,
        p99Ms: j.latency.p99,
        requests: j.requests.total,
        errors: j.errors + j.timeouts + j.non2xx,
        ...(cores !== undefined ? { generatorCores: cores } : {}),
      };
    },
  };
}

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch (e) {
    // wrk --version prints its banner and exits 1; only a missing binary is ENOENT
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * pickLoadGenerator returns wrk when it is installed (it costs less CPU than a Node client on a
 * small machine), else autocannon from node_modules; GATEKIT_BENCH_LOAD=autocannon forces the latter.
 */
export function pickLoadGenerator(): LoadGenerator {
  if (process.env.GATEKIT_BENCH_LOAD !== 'autocannon' && hasWrk()) return wrk;
  let bin: string;
  try {
    bin = join(dirname(createRequire(import.meta.url).resolve('autocannon/package.json')), 'autocannon.js');
  } catch {
    throw new Error('no load generator: install wrk (apt-get install -y wrk) or run npm install --save-dev --save-exact autocannon@8');
  }
  return autocannonAt(bin);
}

/** Contender is one server under load: where to send it, and what each round measured. */
export interface Contender {
  readonly name: string;
  url?: string;
  readonly results: LoadResult[];
  /** cpu names meters of CPU time (ms used so far by some of the server's processes), read before and after each round. */
  cpu?: Readonly<Record<string, () => number | undefined>>;
  /** cpuUs holds, under each meter's name, its CPU per request of each round in microseconds. */
  readonly cpuUs?: Record<string, number[]>;
}

/** readMeters reads every CPU meter of a contender. */
function readMeters(c: Contender): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(c.cpu ?? {}).map(([k, read]) => [k, read()]));
}

/** keepCpu adds one round's CPU per request of each meter to `c.cpuUs`. */
function keepCpu(c: Contender, before: Record<string, number | undefined>, requests: number): void {
  for (const [k, read] of Object.entries(c.cpu ?? {})) {
    const a = before[k],
      b = read();
    if (a !== undefined && b !== undefined && c.cpuUs && requests > 0) (c.cpuUs[k] ??= []).push(((b - a) * 1000) / requests);
  }
}

/**
 * alternateRounds warms every contender up, then runs `settings.rounds` rounds of load on each,
 * reversing the order every other round so neither side always runs after the other. It
 * waits `gapMs` before each run: time for the last contender to let go of what it held.
 */
export async function alternateRounds(
  load: LoadGenerator,
  contenders: readonly Contender[],
  s: { rounds: number; seconds: number; warmupSeconds: number; connections: number },
  label = '',
  gapMs = 0,
): Promise<void> {
  const o = { connections: s.connections, seconds: s.seconds };
  const gap = (): Promise<void> => new Promise((r) => setTimeout(r, gapMs));
  for (const c of contenders) {
    await gap();
    await load.run(c.url!, { ...o, seconds: s.warmupSeconds });
  }
  for (let r = 0; r < s.rounds; r++) {
    for (const c of r % 2 ? [...contenders].reverse() : contenders) {
      await gap();
      const before = readMeters(c);
      const res = await load.run(c.url!, o);
      keepCpu(c, before, res.requests);
      c.results.push(res);
      const cpu = Object.entries(c.cpuUs ?? {})
        .map(([k, v]) => ` ${k} ${v[v.length - 1].toFixed(0)} us/req`)
        .join('');
      process.stderr.write(
        `  ${label}round ${r + 1}/${s.rounds} ${c.name}: ${res.rps.toFixed(0)} req/s p50 ${res.p50Ms.toFixed(2)} ms p99 ${res.p99Ms.toFixed(2)} ms${cpu}${res.errors ? ` errors ${res.errors}` : ''}\n`,
      );
    }
  }
}
