import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { pyVersions, venvPython, VENV_BIN, type PyApp, type Stack, type StackSize } from './app-stacks.js';
import { alternateRounds, pickLoadGenerator, type Contender } from './load.js';
import { GATEKIT_BIN, PKG_DIR } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, treeCpuMs, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Ratio, type Section } from './report.js';
import { describeLoad, envInt, settings } from './settings.js';

// The application-server scenarios (wsgi, asgi, django, fastapi): one Python app served by
// gatekit's pool and by the stacks gatekit replaces, the same files and number of Python
// processes each, side by side under one load, rounds alternating.

/** TARGET is the ratio gatekit must reach against the target and stretch stacks (issue 19). */
const TARGET = 1.0;
/** NODE_CPU_TARGET caps the Node CPU per pooled request, as a multiple of the `respond` path's. */
const NODE_CPU_TARGET = 3;
const RESPOND_PATH = '/gatekit-respond';

/** AppScenario is one app-server scenario: the app, the stacks beside gatekit, what else to measure. */
export interface AppScenario {
  /** id names the scenario; GATEKIT_BENCH_<ID>_PROCS and _FRONT size it. */
  readonly id: string;
  /** about says what the app is, for the title. */
  readonly about: string;
  readonly app: PyApp;
  readonly stacks: readonly Stack[];
  /** respondReference loads gatekit's `respond` in the same process too, to compare the Node CPU per request of the pooled path with it. */
  readonly respondReference: boolean;
  /** packages are the app's Python distributions, whose versions the notes give. */
  readonly packages: readonly string[];
}

/** Row is a contender with its place in the table. */
interface Row extends Contender {
  readonly role: Stack['role'] | 'gatekit' | 'reference';
}

/** PoolSize is how gatekit serves an app: Node workers (0: one process), Python processes, and `respond` on RESPOND_PATH beside it or not. */
export interface PoolSize {
  readonly nodeWorkers: number;
  readonly procs: number;
  readonly respond: boolean;
}

/** startPooledGatekit serves `app` with gatekit's pool (node flags first, e.g. --cpu-prof) and waits for the app's first 200. */
export async function startPooledGatekit(app: PyApp, dir: string, o: PoolSize, nodeFlags: readonly string[] = []): Promise<{ child: Child; port: number }> {
  const port = await freePort();
  const file = join(dir, 'gatekit.gate');
  writeFileSync(
    file,
    `global { workers ${o.nodeWorkers} }\nserver {\n    listen 127.0.0.1:${port}\n` +
      (o.respond ? `    route = ${RESPOND_PATH} { respond "hello\\n" }\n` : '') +
      `    ${app.kind} ${app.callable} { python ${join(VENV_BIN, 'python')}; chdir ${app.dir}; workers ${o.procs} }\n}\n`,
  );
  // TMPDIR: the pool's sockets go in `dir`, removed with it even if gatekit had to be killed
  const child = startChild('gatekit run', process.execPath, [...nodeFlags, GATEKIT_BIN, 'run', file], { env: { ...process.env, TMPDIR: dir } });
  try {
    await waitFor200(port, child, 20_000, 20, app.path);
  } catch (e) {
    await child.stop(); // not left to slow down the scenarios after this one
    throw e;
  }
  return { child, port };
}

/** startGatekitApp starts gatekit on the scenario's app and returns its rows (the pooled app, and `respond` when asked). */
async function startGatekitApp(s: AppScenario, dir: string, size: StackSize, children: Child[]): Promise<Row[]> {
  const { child, port } = await startPooledGatekit(s.app, dir, { nodeWorkers: size.nginxWorkers, procs: size.procs, respond: s.respondReference });
  children.push(child);
  const pid = child.proc.pid!;
  const cpu = { all: () => treeCpuMs(pid), node: () => treeCpuMs(pid, /^node/) };
  const base = `http://127.0.0.1:${port}`;
  return [
    { name: `gatekit ${s.app.kind}`, role: 'gatekit', url: base + s.app.path, results: [], cpu, cpuUs: {} },
    ...(s.respondReference
      ? [
          {
            name: 'gatekit `respond`, same process (reference for Node CPU)',
            role: 'reference' as const,
            url: base + RESPOND_PATH,
            results: [],
            cpu,
            cpuUs: {},
          },
        ]
      : []),
  ];
}

/** startStack starts one stack in a folder of its own (`dir`: short, as unix socket paths must be) and returns its row, metering all the processes it started. */
async function startStack(stack: Stack, s: AppScenario, own: string, size: StackSize, children: Child[]): Promise<Row> {
  mkdirSync(own);
  const mine: Child[] = [];
  try {
    const url = await stack.start(s.app, own, size, mine);
    const pids = mine.map((c) => c.proc.pid!);
    const all = (): number | undefined =>
      pids.reduce<number | undefined>((n, p) => {
        const v = treeCpuMs(p);
        return n === undefined || v === undefined ? undefined : n + v;
      }, 0);
    return { name: stack.name, role: stack.role, url, results: [], cpu: { all }, cpuUs: {} };
  } finally {
    children.push(...mine);
  }
}

/** sameAnswers checks that every row of the app answers 200 with gatekit's body before any load. */
async function sameAnswers(rows: readonly Row[]): Promise<number> {
  const answers = await Promise.all(
    rows.map(async (r) => {
      const res = await fetch(r.url!);
      return { r, status: res.status, body: await res.text() };
    }),
  );
  const want = answers[0];
  for (const a of answers) {
    if (a.status !== 200 || a.body !== want.body) {
      throw new Error(
        `${a.r.name} answered ${a.status} with a body unlike gatekit's:\n${a.body.slice(0, 400)}\n--- gatekit (${want.status}):\n${want.body.slice(0, 400)}`,
      );
    }
  }
  return Buffer.byteLength(want.body);
}

const med = (xs: readonly number[]): number | undefined => (xs.length ? median(xs) : undefined);
const rps = (r: Row): number => median(r.results.map((x) => x.rps));
const us = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v.toFixed(0)} us`);
const cpuOf = (r: Row, k: string): number | undefined => med(r.cpuUs?.[k] ?? []);

/**
 * runAppScenario serves the scenario's app with gatekit and with each installed stack, the
 * same number of Python processes each (GATEKIT_BENCH_<ID>_PROCS, default 2) and as many
 * front processes (gatekit's Node workers and Nginx's workers: GATEKIT_BENCH_<ID>_FRONT,
 * default 2), checks they all give the same answer, and compares them under one load.
 */
export async function runAppScenario(s: AppScenario): Promise<Section> {
  const ID = s.id.toUpperCase();
  const size: StackSize = { procs: envInt(`GATEKIT_BENCH_${ID}_PROCS`, 2), nginxWorkers: envInt(`GATEKIT_BENCH_${ID}_FRONT`, 2) };
  if (!existsSync(join(VENV_BIN, 'python'))) throw new Error(`${join(VENV_BIN, 'python')} is missing: bash .ci/run makes the venv`);
  const load = pickLoadGenerator();
  const dir = tempDir(`gatekit-bench-${s.id}-`);
  const children: Child[] = [];
  const checked = s.stacks.map((stack) => ({ stack, why: stack.missing() }));
  const skipped = checked.filter((c): c is { stack: Stack; why: string } => c.why !== undefined);
  try {
    const [gate, ...reference] = await startGatekitApp(s, dir, size, children);
    const stacks: Row[] = [];
    for (const [i, c] of checked.entries()) if (!c.why) stacks.push(await startStack(c.stack, s, join(dir, `stack-${i}`), size, children));
    const bytes = await sameAnswers([gate, ...stacks]);
    const rows = [gate, ...stacks, ...reference];
    await alternateRounds(load, rows, settings, `${s.id} `);
    return report(s, size, load.name, { gate, stacks, reference: reference[0], skipped, bytes });
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    removeTempDir(dir);
  }
}

/** Measured is what one run of a scenario found. */
interface Measured {
  readonly gate: Row;
  readonly stacks: readonly Row[];
  readonly reference?: Row;
  readonly skipped: readonly { stack: Stack; why: string }[];
  readonly bytes: number;
}

/** goal says the row's target and whether gatekit met it ('' for rows shown for information). */
function goal(role: Row['role'], gain: number): string {
  if (role === 'target') return `>= ${TARGET.toFixed(1)}x: ${verdict(gain >= TARGET)}`;
  if (role === 'stretch') return `stretch >= ${TARGET.toFixed(1)}x: ${gain >= TARGET ? 'pass' : 'not yet'}`;
  return '';
}

/** report turns a scenario's measurements into its section: the table, the gaps and their causes, the versions. */
function report(s: AppScenario, size: StackSize, generator: string, m: Measured): Section {
  const g = rps(m.gate);
  const target = m.stacks.find((r) => r.role === 'target');
  const nodeUs = cpuOf(m.gate, 'node');
  const respondUs = m.reference ? cpuOf(m.reference, 'node') : undefined;
  const nodeRatio = nodeUs !== undefined && respondUs ? nodeUs / respondUs : undefined;
  const all = [m.gate, ...m.stacks, ...(m.reference ? [m.reference] : [])];
  const errors = all.reduce((n, r) => n + r.results.reduce((k, x) => k + x.errors, 0), 0);
  const line = (r: Row, cpu: string, vs: string, to: string): string[] => [
    r.name,
    r.role,
    rps(r).toFixed(0),
    ms(median(r.results.map((x) => x.p50Ms))),
    ms(median(r.results.map((x) => x.p99Ms))),
    cpu,
    vs,
    to,
  ];
  const rows = [
    line(m.gate, `${us(cpuOf(m.gate, 'all'))} (Node ${us(nodeUs)})`, '', ''),
    ...m.stacks.map((r) => line(r, us(cpuOf(r, 'all')), ratio(g / rps(r)), goal(r.role, g / rps(r)))),
    ...m.skipped.map((x) => [x.stack.name, x.stack.role, `skipped: ${x.why}`, '', '', '', '', x.stack.role === 'target' ? '**FAIL** (not measured)' : '']),
    ...(m.reference ? [line(m.reference, `Node ${us(respondUs)}`, '', '')] : []),
    ...(nodeRatio !== undefined
      ? [['Node CPU per request: pooled / `respond`', '', '', '', '', ratio(nodeRatio), '', `<= ${NODE_CPU_TARGET}x: ${verdict(nodeRatio <= NODE_CPU_TARGET)}`]]
      : []),
  ];
  const ratios: Ratio[] = m.stacks
    .filter((r) => r.role !== 'extra')
    .map((r) => ({ label: `${s.id} vs ${r.name.split(' (')[0]}`, value: g / rps(r), target: TARGET }));
  return {
    title: `${s.id}: ${s.about}, gatekit vs the stacks it replaces (${size.procs} Python processes each)`,
    header: ['server', 'role', 'req/s (median)', 'p50 latency', 'p99 latency', 'CPU / request (all its processes)', 'gatekit / this', 'target'],
    rows,
    notes: [
      `every server runs the same files (${relative(PKG_DIR, s.app.dir)}, \`${s.app.callable}\`, GET ${s.app.path}) with ${size.procs} Python processes; gatekit runs ${size.nginxWorkers} Node workers and Nginx ${size.nginxWorkers} worker processes. Before the load every server answered 200 with the same ${m.bytes}-byte body.`,
      `load: ${describeLoad(generator)}; the load generator shares the ${cpus().length} cores with the servers.`,
      `versions: ${versions(s, m).join('; ')}.`,
      ...gaps(m, s.app.kind, target, nodeUs),
      `per-round req/s: ${all.map((r) => `${r.name}: ${r.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
      `CPU per request is user + system time from /proc over each round (10 ms ticks) divided by the requests served; "Node" counts gatekit's Node processes only, not its Python pool. Per round, gatekit Node: ${(m.gate.cpuUs?.node ?? []).map((v) => v.toFixed(0)).join(', ')} us${m.reference ? `; \`respond\` Node: ${(m.reference.cpuUs?.node ?? []).map((v) => v.toFixed(0)).join(', ')} us` : ''}.`,
      `load average at the end: ${loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}; errors and non-2xx answers during load: ${errors}.`,
    ],
    passed: !!target && g / rps(target) >= TARGET && errors === 0 && (nodeRatio === undefined || nodeRatio <= NODE_CPU_TARGET),
    ratios,
  };
}

/** versions names every program of the run and its version. */
function versions(s: AppScenario, m: Measured): string[] {
  const ran = s.stacks.filter((x) => !m.skipped.some((k) => k.stack === x));
  const seen = new Set<string>([`node ${process.version}`, `Python ${venvPython()} (the venv: gatekit, Gunicorn, Uvicorn)`, ...pyVersions(s.packages)]);
  for (const x of ran) for (const v of x.versions()) seen.add(v);
  return [...seen];
}

/** gaps says, for each target gatekit missed, by how much, and where the CPU went during gatekit's rounds. */
function gaps(m: Measured, kind: PyApp['kind'], target: Row | undefined, nodeUs: number | undefined): string[] {
  const g = rps(m.gate);
  const missed = m.stacks.filter((r) => r.role !== 'extra' && g < rps(r) * TARGET);
  if (!missed.length) return [];
  const allUs = cpuOf(m.gate, 'all');
  const cores = (v: number | undefined): string => (v === undefined ? 'n/a' : ((v * g) / 1e6).toFixed(2));
  const gen = med(m.gate.results.map((x) => x.generatorCores).filter((x): x is number => x !== undefined));
  const short = missed.map((r) => `${r.name.split(' (')[0]} by ${(100 * (1 - g / rps(r))).toFixed(0)}% (${ratio(g / rps(r))})`).join(', ');
  return [
    `missed: gatekit is short of ${short}.`,
    `where the time goes in gatekit's rounds: its Node processes used ${cores(nodeUs)} cores (${us(nodeUs)} per request), its Python pool ${cores(allUs !== undefined && nodeUs !== undefined ? allUs - nodeUs : undefined)} cores, the load generator ${gen === undefined ? 'n/a' : gen.toFixed(2)}, of ${cpus().length}` +
      `${target ? `; ${target.name.split(' (')[0]} used ${us(cpuOf(target, 'all'))} of CPU per request in all` : ''}. \`npm run bench -- profile-${kind}\` shows which functions take the Node share.`,
  ];
}
