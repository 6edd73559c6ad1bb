import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pickLoadGenerator } from './load.js';
import { startPooledGatekit } from './app-server.js';
import type { PyApp } from './app-stacks.js';
import { BENCH_APPS, PKG_DIR } from './paths.js';
import { keepTempDir, tempDir, type Child } from './procs.js';
import { ratio, type Section } from './report.js';
import { startBare, startGatekit } from './respond.js';
import { settings } from './settings.js';

const PROFILE_SECONDS = 10;
const TOP = 15;
const INTERVAL_US = 100;

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

/** where names a call frame as file:line function, with dist/ paths shown as their .ts source. */
function where(f: CpuNode['callFrame']): string {
  const fn = f.functionName || '(anonymous)';
  if (!f.url) return fn;
  let file = f.url.startsWith('file:') ? fileURLToPath(f.url) : f.url;
  const rel = relative(join(PKG_DIR, 'dist'), file);
  if (!rel.startsWith('..')) file = rel.replace(/\.js$/, '.ts');
  else if (file.startsWith(PKG_DIR)) file = relative(PKG_DIR, file);
  return `${file}:${f.lineNumber + 1} ${fn}`;
}

/** summarize returns the top functions by self time and by inclusive time (recursion counted once), idle left out. */
export function summarize(p: CpuProfile): {
  self: [string, number][];
  total: [string, number][];
  perSample: number;
  samples: number;
  busy: number;
  own: number;
} {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  for (const s of p.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const sub = new Map<number, number>();
  const subtree = (n: CpuNode): number => {
    let t = hits.get(n.id) ?? 0;
    for (const c of n.children ?? []) t += subtree(byId.get(c)!);
    sub.set(n.id, t);
    return t;
  };
  const root = p.nodes[0];
  subtree(root);
  const walk = (n: CpuNode, open: Set<string>): void => {
    const k = where(n.callFrame);
    self.set(k, (self.get(k) ?? 0) + (hits.get(n.id) ?? 0));
    const fresh = !open.has(k);
    if (fresh) {
      total.set(k, (total.get(k) ?? 0) + sub.get(n.id)!);
      open.add(k);
    }
    for (const c of n.children ?? []) walk(byId.get(c)!, open);
    if (fresh) open.delete(k);
  };
  walk(root, new Set());
  const idle = self.get('(idle)') ?? 0;
  const own = [...self].filter(([k]) => /^(core|dsl|plugins)\//.test(k)).reduce((n, [, v]) => n + v, 0);
  const top = (m: Map<string, number>): [string, number][] =>
    [...m]
      .filter(([k]) => k !== '(idle)' && k !== '(root)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP);
  return {
    self: top(self),
    total: top(total),
    perSample: (p.endTime - p.startTime) / 1000 / p.samples.length,
    samples: p.samples.length,
    busy: p.samples.length - idle,
    own,
  };
}

/** Profiled is one server's CPU profile under load. */
interface Profiled {
  readonly file: string;
  readonly s: ReturnType<typeof summarize>;
  readonly requests: number;
  readonly perReqUs: number;
}

type Starter = (flags: readonly string[]) => Promise<{ child: Child; port: number }>;

async function profileOne(name: string, dir: string, start: Starter): Promise<Profiled> {
  const load = pickLoadGenerator();
  const profDir = join(dir, name);
  const srv = await start(['--cpu-prof', `--cpu-prof-interval=${INTERVAL_US}`, `--cpu-prof-dir=${profDir}`]);
  let requests: number;
  try {
    requests = (await load.run(`http://127.0.0.1:${srv.port}/`, { connections: settings.connections, seconds: PROFILE_SECONDS })).requests;
  } finally {
    await srv.child.stop(10_000); // the profile is written at exit
  }
  const prof = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!prof) throw new Error(`${name} wrote no .cpuprofile in ${profDir}:\n${srv.child.output()}`);
  const file = join(profDir, prof);
  const s = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  return { file, s, requests, perReqUs: (s.busy * s.perSample * 1000) / requests };
}

/** ownShare is the share of busy samples spent in gatekit's own code (self time in core/, dsl/, plugins/). */
function ownShare(p: Profiled): number {
  return p.s.own / p.s.busy;
}

/** Side is one of the two servers a profile scenario compares. */
interface Side {
  readonly name: string;
  readonly start: Starter;
}

/** profilePair profiles two servers under the same load, one after the other, and lists where each spends its CPU time. */
async function profilePair(subject: string, a: Side, b: Side): Promise<Section> {
  const dir = tempDir('gatekit-bench-profile-');
  keepTempDir(dir); // the profiles stay for the user to open
  const pa = await profileOne(a.name.replace(/\W+/g, '-'), dir, a.start);
  const pb = await profileOne(b.name.replace(/\W+/g, '-'), dir, b.start);
  const pct = (p: Profiled, n: number): string => `${((100 * n) / p.s.busy).toFixed(1)}%`;
  const rows: string[][] = [];
  for (let i = 0; i < TOP; i++) {
    const x = pa.s.self[i],
      y = pb.s.self[i];
    rows.push([String(i + 1), x ? `\`${x[0]}\`` : '', x ? pct(pa, x[1]) : '', y ? `\`${y[0]}\`` : '', y ? pct(pb, y[1]) : '']);
  }
  const incl = pa.s.total.filter(([k]) => /^(core|dsl|plugins)\//.test(k)).slice(0, 6);
  return {
    title: `profile: ${subject} under ${PROFILE_SECONDS} s of ${pickLoadGenerator().name} load, ${a.name} vs ${b.name} (node --cpu-prof, self time)`,
    header: ['#', `${a.name}: function`, 'self %', `${b.name}: function`, 'self %'],
    rows,
    notes: [
      `busy (not idle) time per request seen by the profiler (wall-clock samples, so time the process waits for a CPU counts too): ${a.name} ${pa.perReqUs.toFixed(1)} us, ${b.name} ${pb.perReqUs.toFixed(1)} us (${ratio(pa.perReqUs / pb.perReqUs)}); requests served while profiled: ${pa.requests} and ${pb.requests}.`,
      `self time in gatekit's own code (core/, dsl/, plugins/): ${(100 * ownShare(pa)).toFixed(1)}% of ${a.name}'s busy samples.`,
      `${a.name}, inclusive times: ${incl.map(([k, n]) => `\`${k}\` ${pct(pa, n)}`).join(', ')}.`,
      `percentages are of busy (not idle) samples, one sample per ${INTERVAL_US} us; paths under dist/ are shown as their .ts source with the compiled .js line number.`,
      `profiles kept for Chrome DevTools > Performance: ${pa.file} and ${pb.file}.`,
    ],
    passed: true,
  };
}

/** runProfile profiles gatekit's `respond` and the bare peer. */
export function runProfile(): Promise<Section> {
  const dir = tempDir('gatekit-bench-profile-run-');
  return profilePair('respond', { name: 'gatekit', start: (flags) => startGatekit(dir, flags) }, { name: 'bare', start: (flags) => startBare(flags) });
}

/**
 * runProfilePool profiles the Node side of gatekit's Python pool: the trivial app of the
 * wsgi or asgi scenario (2 Python processes) against `respond`, each in one Node process
 * (workers 0), so that the functions the pooled path adds stand out.
 */
export function runProfilePool(kind: 'wsgi' | 'asgi'): Promise<Section> {
  const dir = tempDir(`gatekit-bench-profile-${kind}-`);
  const app: PyApp = { kind, dir: join(BENCH_APPS, 'hello'), callable: `hello_${kind}:application`, path: '/' };
  return profilePair(
    `the ${kind} pool (bench/apps/hello, 2 Python processes)`,
    { name: `gatekit ${kind}`, start: (flags) => startPooledGatekit(app, dir, { nodeWorkers: 0, procs: 2, respond: false }, flags) },
    { name: 'gatekit respond', start: (flags) => startGatekit(dir, flags) },
  );
}
