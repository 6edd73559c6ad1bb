import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pickLoadGenerator } from './load.js';
import { GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { measure, type Target } from './respond.js';
import { describeLoad } from './settings.js';
import { respondConfig } from './startup.js';

/** TARGET_RATIO: with admin on and scraped every second, `respond` keeps at least 97% of its throughput. */
const TARGET_RATIO = 0.97;
const SCRAPE_MS = 1000;

/** startRespond serves respondConfig() (with `admin` at `adminPort` when given) and waits for its first 200. */
async function startRespond(dir: string, name: string, adminPort?: number): Promise<{ child: Child; port: number }> {
  const port = await freePort();
  const file = join(dir, `${name}.gate`);
  const text = respondConfig(port);
  writeFileSync(file, adminPort === undefined ? text : text.replace('global { workers 0 }', `global { workers 0; admin 127.0.0.1:${adminPort} }`));
  const child = startChild(`gatekit run (${name})`, process.execPath, [GATEKIT_BIN, 'run', file]);
  await waitFor200(port, child, 10_000, 10);
  return { child, port };
}

/**
 * runAdmin measures what the admin API costs the `respond` path: the same build, one process
 * each, with `admin` off, and on with /metrics scraped every second (as Prometheus would, and
 * beside the dashboard's own sampling every second). Metrics are counted in both: they always are.
 */
export async function runAdmin(): Promise<Section> {
  const load = pickLoadGenerator();
  const dir = tempDir();
  const started: Child[] = [];
  let scraper: NodeJS.Timeout | undefined;
  let scrapes = 0;
  let scrapeFailures = 0;
  try {
    const off = await startRespond(dir, 'admin-off');
    started.push(off.child);
    const adminPort = await freePort();
    const on = await startRespond(dir, 'admin-on', adminPort);
    started.push(on.child);
    scraper = setInterval(() => {
      fetch(`http://127.0.0.1:${adminPort}/metrics`).then(
        async (r) => {
          await r.text();
          if (r.ok) scrapes++;
          else scrapeFailures++;
        },
        () => {
          scrapeFailures++;
        },
      );
    }, SCRAPE_MS);
    const a: Target = { name: 'admin off', url: `http://127.0.0.1:${off.port}/`, pid: off.child.proc.pid!, results: [], cpuUs: [] };
    const b: Target = { name: 'admin on, scraped 1/s', url: `http://127.0.0.1:${on.port}/`, pid: on.child.proc.pid!, results: [], cpuUs: [] };
    await measure(load, [b, a]);
    const rps = (t: Target): number => median(t.results.map((x) => x.rps));
    const r = rps(b) / rps(a);
    const paired = median(b.results.map((x, i) => x.rps / a.results[i].rps));
    const cpu = (t: Target): string => (t.cpuUs.length ? `${median(t.cpuUs).toFixed(1)} us` : 'n/a');
    const errors = [...a.results, ...b.results].reduce((n, x) => n + x.errors, 0);
    const row = (t: Target, vs: string, res: string): string[] => [
      t.name,
      rps(t).toFixed(0),
      ms(median(t.results.map((x) => x.p50Ms))),
      ms(median(t.results.map((x) => x.p99Ms))),
      cpu(t),
      vs,
      res,
    ];
    return {
      title: `admin API cost on respond (${load.name}, 1 process each, same build)`,
      header: [
        'gatekit run, respond "hello world\\n", workers 0',
        'req/s (median)',
        'p50 latency',
        'p99 latency',
        'server CPU / request',
        'on / off',
        `target >= ${TARGET_RATIO}x`,
      ],
      rows: [
        row(b, ratio(r), verdict(r >= TARGET_RATIO)),
        row(a, '', ''),
        ['req/s, paired per-round ratio (median)', '', '', '', '', ratio(paired), verdict(paired >= TARGET_RATIO)],
      ],
      notes: [
        `load: ${describeLoad(load.name)}; /metrics fetched every ${SCRAPE_MS} ms from the admin-on server all along (${scrapes} scrapes, ${scrapeFailures} failed); its dashboard sampling runs every second too.`,
        `per-round req/s: on ${b.results.map((x) => x.rps.toFixed(0)).join(', ')}; off ${a.results.map((x) => x.rps.toFixed(0)).join(', ')}.`,
        `load average at the end: ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')} (${cpus().length} cores); errors during load: ${errors}.`,
      ],
      passed: r >= TARGET_RATIO && errors === 0 && scrapeFailures === 0,
      ratios: [{ label: 'respond, admin on + scraped vs off (req/s)', value: r, target: TARGET_RATIO }],
    };
  } finally {
    clearInterval(scraper);
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
