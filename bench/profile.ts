import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pickLoadGenerator } from './load.js';
import { PKG_DIR } from './paths.js';
import { keepTempDir, tempDir, type Child } from './procs.js';
import { ratio, type Section } from './report.js';
import { settings, startBare, startGatekit } from './respond.js';

const PROFILE_SECONDS = 10;
const TOP = 15;
const INTERVAL_US = 100;

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile { nodes: CpuNode[]; samples: number[]; startTime: number; endTime: number }

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
export function summarize(p: CpuProfile): { self: [string, number][]; total: [string, number][]; perSample: number; samples: number; busy: number; own: number } {
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
    if (fresh) { total.set(k, (total.get(k) ?? 0) + sub.get(n.id)!); open.add(k); }
    for (const c of n.children ?? []) walk(byId.get(c)!, open);
    if (fresh) open.delete(k);
  };
  walk(root, new Set());
  const idle = self.get('(idle)') ?? 0;
  const own = [...self].filter(([k]) => /^(core|dsl|plugins)\//.test(k)).reduce((n, [, v]) => n + v, 0);
  const top = (m: Map<string, number>): [string, number][] =>
    [...m].filter(([k]) => k !== '(idle)' && k !== '(root)').sort((a, b) => b[1] - a[1]).slice(0, TOP);
  return { self: top(self), total: top(total), perSample: (p.endTime - p.startTime) / 1000 / p.samples.length, samples: p.samples.length, busy: p.samples.length - idle, own };
}

/** Profiled is one server's CPU profile under load. */
interface Profiled { readonly file: string; readonly s: ReturnType<typeof summarize>; readonly requests: number; readonly perReqUs: number }

type Starter = (flags: readonly string[]) => Promise<{ child: Child; port: number }>;

async function profileOne(name: string, dir: string, start: Starter): Promise<Profiled> {
  const load = pickLoadGenerator();
  const profDir = join(dir, name);
  const srv = await start(['--cpu-prof', `--cpu-prof-interval=${INTERVAL_US}`, `--cpu-prof-dir=${profDir}`]);
  let requests = 0;
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

/** runProfile profiles gatekit and the bare peer under the same load, one after the other, and lists where CPU time goes. */
export async function runProfile(): Promise<Section> {
  const dir = tempDir('gatekit-bench-profile-');
  keepTempDir(dir); // the profiles stay for the user to open
  const gk = await profileOne('gatekit', dir, (flags) => startGatekit(dir, flags));
  const bare = await profileOne('bare', dir, (flags) => startBare(flags));
  const pct = (p: Profiled, n: number): string => `${((100 * n) / p.s.busy).toFixed(1)}%`;
  const rows: string[][] = [];
  for (let i = 0; i < TOP; i++) {
    const a = gk.s.self[i], b = bare.s.self[i];
    rows.push([String(i + 1), a ? `\`${a[0]}\`` : '', a ? pct(gk, a[1]) : '', b ? `\`${b[0]}\`` : '', b ? pct(bare, b[1]) : '']);
  }
  const incl = gk.s.total.filter(([k]) => /^(core|dsl|plugins)\//.test(k)).slice(0, 6);
  return {
    title: `profile: respond under ${PROFILE_SECONDS} s of ${pickLoadGenerator().name} load, gatekit vs bare (node --cpu-prof, self time)`,
    header: ['#', 'gatekit: function', 'self %', 'bare: function', 'self %'],
    rows,
    notes: [
      `busy (not idle) time per request seen by the profiler (wall-clock samples, so time the process waits for a CPU counts too): gatekit ${gk.perReqUs.toFixed(1)} us, bare ${bare.perReqUs.toFixed(1)} us (bare/gatekit ${ratio(bare.perReqUs / gk.perReqUs)}); requests served while profiled: gatekit ${gk.requests}, bare ${bare.requests}.`,
      `self time in gatekit's own code (core/, dsl/, plugins/): ${(100 * ownShare(gk)).toFixed(1)}% of gatekit's busy samples.`,
      `gatekit inclusive times: ${incl.map(([k, n]) => `\`${k}\` ${pct(gk, n)}`).join(', ')}.`,
      `percentages are of busy (not idle) samples, one sample per ${INTERVAL_US} us; paths under dist/ are shown as their .ts source with the compiled .js line number.`,
      `profiles kept for Chrome DevTools > Performance: ${gk.file} and ${bare.file}.`,
    ],
    passed: true,
  };
}
