import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VENV_BIN } from './app-stacks.js';
import { pickLoadGenerator, type LoadGenerator, type LoadResult } from './load.js';
import { BENCH_APPS, GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './settings.js';

// Scenario `cache`, side by side in one run: a 1 KiB cache hit from the disk store (2 workers)
// against `static` serving the same bytes (2 workers), and a Django view with a 1-second
// micro-cache against the same view uncached.

const HIT_TARGET = 0.9;
const MICRO_TARGET = 20;
const LINE = 'cache bench line of text, 64 bytes long, ending in a newline...\n';

interface Target { readonly name: string; readonly url: string; readonly results: LoadResult[] }

/** gate starts `gatekit run` on a config and waits for it to answer `path`. */
async function gate(dir: string, name: string, body: (port: number) => string, path: string, started: Child[]): Promise<Target> {
  const port = await freePort();
  writeFileSync(join(dir, `${name}.gate`), body(port));
  const child = startChild(`gatekit ${name}`, process.execPath, [GATEKIT_BIN, 'run', join(dir, `${name}.gate`)]);
  started.push(child);
  await waitFor200(port, child, 20_000, 20, path);
  return { name, url: `http://127.0.0.1:${port}${path}`, results: [] };
}

async function measure(load: LoadGenerator, targets: readonly Target[]): Promise<void> {
  const o = { connections: settings.connections, seconds: settings.seconds };
  for (const t of targets) await load.run(t.url, { ...o, seconds: settings.warmupSeconds });
  for (let r = 0; r < settings.rounds; r++) {
    for (const t of r % 2 ? [...targets].reverse() : targets) {
      const res = await load.run(t.url, o);
      t.results.push(res);
      process.stderr.write(`  round ${r + 1}/${settings.rounds} ${t.name}: ${res.rps.toFixed(0)} req/s, p99 ${ms(res.p99Ms)}\n`);
    }
  }
}

/** runCache measures cache hits against static, and a micro-cached Django view against the uncached one. */
export async function runCache(): Promise<Section> {
  const load = pickLoadGenerator();
  const dir = tempDir();
  const started: Child[] = [];
  try {
    mkdirSync(join(dir, 'site'));
    writeFileSync(join(dir, 'site', 'page.txt'), LINE.repeat(16));
    const server = (port: number, inner: string): string => `global { workers 2 }\nserver {\n    listen 127.0.0.1:${port}\n${inner}\n}\n`;
    const stat = await gate(dir, 'static', (p) => server(p, '    static ./site'), '/page.txt', started);
    const origin = await gate(dir, 'origin', (p) => server(p, '    static ./site'), '/page.txt', started);
    const hit = await gate(dir, 'cache-hit', (p) => server(p, `    cache { ttl 1h; store disk ./store }\n    proxy ${origin.url.replace('/page.txt', '')}`), '/page.txt', started);
    const app = (cache: string) => (p: number): string => server(p, `${cache}    wsgi benchsite.wsgi:application { chdir ${join(BENCH_APPS, 'django')}; python ${join(VENV_BIN, 'python')}; workers 2 }`);
    const django = await gate(dir, 'django', app(''), '/catalog/', started);
    const micro = await gate(dir, 'django-micro', app('    cache { ttl 1s; lock }\n'), '/catalog/', started);
    await measure(load, [hit, stat, micro, django]);
    const rps = (t: Target): number => median(t.results.map((x) => x.rps));
    const hitRatio = rps(hit) / rps(stat);
    const microRatio = rps(micro) / rps(django);
    const row = (t: Target, label: string, vs: string, res: string): string[] => [label, rps(t).toFixed(0), ms(median(t.results.map((x) => x.p50Ms))), ms(median(t.results.map((x) => x.p99Ms))), vs, res];
    const errors = [hit, stat, micro, django].flatMap((t) => t.results).reduce((n, x) => n + x.errors, 0);
    return {
      title: `cache: disk-store hits vs static, and a 1 s micro-cache in front of Django (${load.name}, ${settings.connections} connections, keep-alive)`,
      header: ['server', 'req/s (median)', 'p50 latency', 'p99 latency', 'ratio', 'target'],
      rows: [
        row(hit, '`cache { ttl 1h; store disk }` hit, 1 KiB, workers 2', ratio(hitRatio), `>= ${HIT_TARGET}x static: ${verdict(hitRatio >= HIT_TARGET)}`),
        row(stat, '`static`, the same 1 KiB, workers 2', '', ''),
        row(micro, '`cache { ttl 1s; lock }` in front of `wsgi` Django, workers 2', ratio(microRatio), `>= ${MICRO_TARGET}x uncached: ${verdict(microRatio >= MICRO_TARGET)}`),
        row(django, '`wsgi` Django uncached (bench/apps/django /catalog/), workers 2', '', ''),
      ],
      notes: [
        `${settings.rounds} rounds x ${settings.seconds} s per server, alternating order, after a ${settings.warmupSeconds} s warm-up each; every server runs 2 workers.`,
        'Nginx proxy_cache (the stretch target) is not measured yet.',
        `errors and non-2xx answers during load: ${errors}.`,
      ],
      passed: hitRatio >= HIT_TARGET && microRatio >= MICRO_TARGET && errors === 0,
      ratios: [{ label: 'cache hit 1 KiB vs static (req/s)', value: hitRatio, target: HIT_TARGET }, { label: 'micro-cached Django vs uncached (req/s)', value: microRatio, target: MICRO_TARGET }],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
