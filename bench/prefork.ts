import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pickLoadGenerator, type LoadResult } from './load.js';
import { GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, treeCpuMs, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './settings.js';

const TARGET = 1.6;

/** Variant is one way of serving the same respond config. */
interface Variant {
  readonly name: string;
  readonly workers: number;
  readonly scheduling?: 'rr' | 'none';
  readonly results: LoadResult[];
  /** cores is the CPU the server's process tree used during each run, in cores. */
  readonly cores: number[];
  url?: string;
  pid?: number;
}

function config(port: number, workers: number): string {
  return `global { workers ${workers} }\nserver {\n    listen 127.0.0.1:${port}\n    respond "hello world\\n"\n}\n`;
}

async function start(dir: string, v: Variant): Promise<Child> {
  const port = await freePort();
  const file = join(dir, `${v.name.replace(/\W+/g, '-')}.gate`);
  writeFileSync(file, config(port, v.workers));
  const env = { ...process.env, ...(v.scheduling ? { GATEKIT_SCHEDULING: v.scheduling } : {}) };
  const child = startChild(`gatekit ${v.name}`, process.execPath, [GATEKIT_BIN, 'run', file], { env });
  await waitFor200(port, child, 15_000, 10);
  v.url = `http://127.0.0.1:${port}/`;
  v.pid = child.proc.pid;
  return child;
}

/**
 * runPrefork measures `respond` with one process against two workers, with both ways of
 * sharing the listening socket: workers accepting on the shared handle (SCHED_NONE, the
 * default) and the master accepting and handing connections round-robin (SCHED_RR).
 */
export async function runPrefork(): Promise<Section> {
  const load = pickLoadGenerator();
  const dir = tempDir();
  const started: Child[] = [];
  const variants: Variant[] = [
    { name: 'workers 0', workers: 0, results: [], cores: [] },
    { name: 'workers 2, shared handle (SCHED_NONE)', workers: 2, scheduling: 'none', results: [], cores: [] },
    { name: 'workers 2, master round-robin (SCHED_RR)', workers: 2, scheduling: 'rr', results: [], cores: [] },
  ];
  try {
    for (const v of variants) started.push(await start(dir, v));
    const o = { connections: settings.connections, seconds: settings.seconds };
    for (const v of variants) await load.run(v.url!, { ...o, seconds: settings.warmupSeconds });
    for (let r = 0; r < settings.rounds; r++) {
      const order = r % 2 ? [...variants].reverse() : variants;
      for (const v of order) {
        const before = treeCpuMs(v.pid!);
        const t0 = performance.now();
        const res = await load.run(v.url!, o);
        const after = treeCpuMs(v.pid!);
        if (before !== undefined && after !== undefined) v.cores.push((after - before) / (performance.now() - t0));
        v.results.push(res);
        process.stderr.write(`  round ${r + 1}/${settings.rounds} ${v.name}: ${res.rps.toFixed(0)} req/s\n`);
      }
    }
    const rps = (v: Variant): number => median(v.results.map((x) => x.rps));
    const single = rps(variants[0]);
    const best = Math.max(rps(variants[1]), rps(variants[2]));
    const cores = (v: Variant): number | undefined => (v.cores.length ? median(v.cores) : undefined);
    const genCores = (v: Variant): number | undefined => {
      const g = v.results.map((x) => x.generatorCores).filter((x): x is number => x !== undefined);
      return g.length ? median(g) : undefined;
    };
    const perCore = (v: Variant): number | undefined => {
      const c = cores(v);
      return c ? rps(v) / c : undefined;
    };
    const fmt = (x: number | undefined, d = 2): string => (x === undefined ? '' : x.toFixed(d));
    const two = rps(variants[1]) >= rps(variants[2]) ? variants[1] : variants[2];
    const efficiency = perCore(two) !== undefined && perCore(variants[0]) !== undefined ? perCore(two)! / perCore(variants[0])! : undefined;
    const room = genCores(two) !== undefined ? cpus().length - genCores(two)! : undefined;
    const errors = variants.reduce((n, v) => n + v.results.reduce((m, x) => m + x.errors, 0), 0);
    return {
      title: `prefork: respond with 2 workers vs 1 process (${load.name}, ${settings.connections} connections, keep-alive)`,
      header: [
        'server',
        'req/s (median)',
        'p50 latency',
        'p99 latency',
        'server CPU (cores)',
        `${load.name} CPU (cores)`,
        'req/s per server core',
        'vs workers 0',
        `target >= ${TARGET}x`,
      ],
      rows: variants.map((v, i) => [
        v.name,
        rps(v).toFixed(0),
        ms(median(v.results.map((x) => x.p50Ms))),
        ms(median(v.results.map((x) => x.p99Ms))),
        fmt(cores(v)),
        fmt(genCores(v)),
        fmt(perCore(v), 0),
        i ? ratio(rps(v) / single) : '',
        i ? verdict(rps(v) / single >= TARGET) : '',
      ]),
      notes: [
        `the default socket sharing is the shared handle (SCHED_NONE); GATEKIT_SCHEDULING=rr selects round-robin in the master.`,
        `per-round req/s: ${variants.map((v) => `${v.name}: ${v.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
        `the load generator shares the ${cpus().length} cores with the workers; load average at the end: ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')}.`,
        ...(room !== undefined && cores(variants[0])
          ? [
              `with ${load.name} using ${fmt(genCores(two))} cores, two workers had at most ${fmt(room)} of the ${cpus().length} cores: the best scaling this machine allows is about ${ratio(room / cores(variants[0])!)} over one process using ${fmt(cores(variants[0]))} cores.`,
            ]
          : []),
        ...(efficiency !== undefined
          ? [`req/s per server core, ${two.name} vs workers 0: ${ratio(efficiency)} (1.00x would be perfect scaling per core used).`]
          : []),
        `errors and non-2xx answers during load: ${errors}.`,
      ],
      passed: best / single >= TARGET && errors === 0,
      ratios: [{ label: 'workers 2 vs workers 0 (req/s)', value: best / single, target: TARGET }],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
