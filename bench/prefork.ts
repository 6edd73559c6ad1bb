import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pickLoadGenerator, type LoadResult } from './load.js';
import { GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './respond.js';

const TARGET = 1.6;

/** Variant is one way of serving the same respond config. */
interface Variant { readonly name: string; readonly workers: number; readonly scheduling?: 'rr' | 'none'; readonly results: LoadResult[]; url?: string }

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
    { name: 'workers 0', workers: 0, results: [] },
    { name: 'workers 2, shared handle (SCHED_NONE)', workers: 2, scheduling: 'none', results: [] },
    { name: 'workers 2, master round-robin (SCHED_RR)', workers: 2, scheduling: 'rr', results: [] },
  ];
  try {
    for (const v of variants) started.push(await start(dir, v));
    const o = { connections: settings.connections, seconds: settings.seconds };
    for (const v of variants) await load.run(v.url!, { ...o, seconds: settings.warmupSeconds });
    for (let r = 0; r < settings.rounds; r++) {
      const order = r % 2 ? [...variants].reverse() : variants;
      for (const v of order) {
        const res = await load.run(v.url!, o);
        v.results.push(res);
        process.stderr.write(`  round ${r + 1}/${settings.rounds} ${v.name}: ${res.rps.toFixed(0)} req/s\n`);
      }
    }
    const rps = (v: Variant): number => median(v.results.map((x) => x.rps));
    const single = rps(variants[0]);
    const best = Math.max(rps(variants[1]), rps(variants[2]));
    const errors = variants.reduce((n, v) => n + v.results.reduce((m, x) => m + x.errors, 0), 0);
    return {
      title: `prefork: respond with 2 workers vs 1 process (${load.name}, ${settings.connections} connections, keep-alive)`,
      header: ['server', 'req/s (median)', 'p50 latency', 'p99 latency', 'vs workers 0', `target >= ${TARGET}x`],
      rows: variants.map((v, i) => [
        v.name, rps(v).toFixed(0), ms(median(v.results.map((x) => x.p50Ms))), ms(median(v.results.map((x) => x.p99Ms))),
        i ? ratio(rps(v) / single) : '', i ? verdict(rps(v) / single >= TARGET) : '',
      ]),
      notes: [
        `the default socket sharing is the shared handle (SCHED_NONE); GATEKIT_SCHEDULING=rr selects round-robin in the master.`,
        `per-round req/s: ${variants.map((v) => `${v.name}: ${v.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
        `the load generator shares the ${cpus().length} cores with the workers; load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}.`,
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
