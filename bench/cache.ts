import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { VENV_BIN } from './app-stacks.js';
import { alternateRounds, pickLoadGenerator, type Contender } from './load.js';
import { nginxBin, nginxVersion, startNginx } from './nginx-peer.js';
import { BENCH_APPS, GATEKIT_BIN } from './paths.js';
import { freePort, rawResponse, removeTempDir, startChild, tempDir, treeCpuMs, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Ratio, type Section } from './report.js';
import { envInt, settings } from './settings.js';

// Scenario `cache`, side by side in one run: a 1 KiB cache hit from gatekit's disk store
// against `static` serving the same bytes and against Nginx's proxy_cache hit (disk store,
// pages in memory), every server with 2 workers; and a Django view behind a 1-second
// micro-cache against the same view uncached, both through gatekit's wsgi. The micro-cache is
// set up as Nginx's micro-caching recipe does it (proxy_cache_valid 1s, proxy_cache_lock, and
// proxy_cache_use_stale updating with proxy_cache_background_update): one request per worker
// refreshes an expired entry in the background while the others get the stale one.

const HIT_TARGET = 0.9;
const NGINX_STRETCH = 1.0;
const MICRO_TARGET = 20;
/** MICRO_CACHE is the micro-cache in front of Django (see the comment above). */
const MICRO_CACHE = 'cache { ttl 1s; lock; stale_while_revalidate 10s }';
const LINE = 'cache bench line of text, 64 bytes long, ending in a newline...\n';
const PAGE = '/page.txt';
const VIEW = '/catalog/';

/** Row is one server under load, and what its process tree's CPU says per request. */
interface Row extends Contender {
  readonly label: string;
  url: string;
  readonly cpuUs: Record<string, number[]>;
}

/** meter counts the CPU of a server's process tree, to say where a round's time went. */
function row(label: string, name: string, port: number, path: string, child: Child): Row {
  const pid = child.proc.pid!;
  return {
    name,
    label,
    url: `http://127.0.0.1:${port}${path}`,
    results: [],
    cpu: { all: () => treeCpuMs(pid), node: () => treeCpuMs(pid, /^node$/) },
    cpuUs: {},
  };
}

/** gate runs `gatekit run` on a config with 2 workers around `inner`, and waits for it to answer `path`. */
async function gate(dir: string, name: string, inner: string, path: string, started: Child[]): Promise<{ port: number; child: Child }> {
  const port = await freePort();
  const file = join(dir, `${name}.gate`);
  writeFileSync(file, `global { workers 2 }\nserver {\n    listen 127.0.0.1:${port}\n${inner}\n}\n`);
  const child = startChild(`gatekit ${name}`, process.execPath, [GATEKIT_BIN, 'run', file]);
  started.push(child);
  await waitFor200(port, child, 30_000, 20, path);
  return { port, child };
}

/**
 * nginxCache starts Nginx as the proxy_cache peer: a disk cache (levels 1:2, no temp path
 * of its own), a keep-alive upstream, 2 workers, 200s fresh for an hour, as gatekit's hit.
 */
async function nginxCache(bin: string, dir: string, origin: number, started: Child[]): Promise<{ port: number; child: Child }> {
  const port = await freePort();
  const child = await startNginx(bin, dir, {
    workers: 2,
    port,
    path: PAGE,
    children: started,
    http: [
      `proxy_cache_path ${join(dir, 'cache')} levels=1:2 keys_zone=bench:10m max_size=1g inactive=1h use_temp_path=off;`,
      `upstream origin { server 127.0.0.1:${origin}; keepalive 16; }`,
      `server { listen 127.0.0.1:${port}; location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_cache bench; proxy_cache_valid 200 1h; } }`,
    ],
  });
  return { port, child };
}

/** startAll starts every server of the scenario; Nginx only when installed (else its row says why). */
async function startAll(dir: string, started: Child[]): Promise<{ rows: Row[]; nginxMissing?: string; procs: number }> {
  mkdirSync(join(dir, 'site'));
  writeFileSync(join(dir, 'site', 'page.txt'), LINE.repeat(16));
  const procs = envInt('GATEKIT_BENCH_CACHE_PROCS', 2);
  const st = await gate(dir, 'static', '    static ./site', PAGE, started);
  const origin = await gate(dir, 'origin', '    static ./site', PAGE, started);
  const hit = await gate(dir, 'cache-hit', `    cache { ttl 1h; store disk ./store }\n    proxy http://127.0.0.1:${origin.port}`, PAGE, started);
  const rows = [
    row('`cache { ttl 1h; store disk }` hit, 1 KiB, workers 2', 'cache hit', hit.port, PAGE, hit.child),
    row('`static`, the same 1 KiB, workers 2', 'static', st.port, PAGE, st.child),
  ];
  const bin = nginxBin();
  if (bin) {
    mkdirSync(join(dir, 'nginx'));
    const ng = await nginxCache(bin, join(dir, 'nginx'), origin.port, started);
    rows.push(
      row(`${nginxVersion(bin)} \`proxy_cache\` hit (disk, keep-alive upstream), the same 1 KiB, 2 workers`, 'nginx proxy_cache', ng.port, PAGE, ng.child),
    );
  }
  const wsgi = `    wsgi benchsite.wsgi:application { chdir ${join(BENCH_APPS, 'django')}; python ${join(VENV_BIN, 'python')}; workers ${procs} }`;
  const micro = await gate(dir, 'django-micro', `    ${MICRO_CACHE}\n${wsgi}`, VIEW, started);
  const django = await gate(dir, 'django', wsgi, VIEW, started);
  rows.push(
    row(`\`${MICRO_CACHE}\` (memory) in front of \`wsgi\` Django, workers 2, ${procs} Python processes`, 'micro-cached Django', micro.port, VIEW, micro.child),
    row(`\`wsgi\` Django uncached (bench/apps/django ${VIEW}), workers 2, ${procs} Python processes`, 'Django', django.port, VIEW, django.child),
  );
  return { rows, nginxMissing: bin ? undefined : 'nginx is not installed (apt-get install -y nginx)', procs };
}

/** sameBodies checks that the servers of one comparison answer the same bytes, so that they do the same work. */
async function sameBodies(rows: readonly Row[]): Promise<void> {
  const bodies = await Promise.all(rows.map(async (r) => (await rawResponse(Number(new URL(r.url).port), new URL(r.url).pathname)).split('\r\n\r\n')[1]));
  if (new Set(bodies).size !== 1) throw new Error(`the servers answer different bodies: ${rows.map((r) => r.name).join(', ')}`);
}

/** runCache measures cache hits against static and Nginx's proxy_cache, and a micro-cached Django view against the uncached one. */
export async function runCache(): Promise<Section> {
  const load = pickLoadGenerator();
  const dir = tempDir('gatekit-bench-cache-');
  const started: Child[] = [];
  try {
    const { rows, nginxMissing, procs } = await startAll(dir, started);
    await sameBodies(rows.filter((r) => r.url.endsWith(PAGE)));
    await alternateRounds(load, rows, settings, 'cache ');
    return report(rows, load.name, procs, nginxMissing);
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}

const rps = (r: Row): number => median(r.results.map((x) => x.rps));
const cpuUs = (r: Row, k: string): string => (r.cpuUs[k]?.length ? `${median(r.cpuUs[k]).toFixed(0)} us` : 'n/a');

/** report turns the rounds into the scenario's section. */
function report(rows: readonly Row[], generator: string, procs: number, nginxMissing: string | undefined): Section {
  const by = (name: string): Row | undefined => rows.find((r) => r.name === name);
  const [hit, stat, ng, micro, django] = [by('cache hit')!, by('static')!, by('nginx proxy_cache'), by('micro-cached Django')!, by('Django')!];
  const hitRatio = rps(hit) / rps(stat);
  const ngRatio = ng ? rps(hit) / rps(ng) : undefined;
  const microRatio = rps(micro) / rps(django);
  const line = (r: Row, vs: string, to: string): string[] => [
    r.label,
    rps(r).toFixed(0),
    ms(median(r.results.map((x) => x.p50Ms))),
    ms(median(r.results.map((x) => x.p99Ms))),
    `${cpuUs(r, 'all')} (Node ${cpuUs(r, 'node')})`,
    vs,
    to,
  ];
  const errors = rows.flatMap((r) => r.results).reduce((n, x) => n + x.errors, 0);
  const gen = median(rows.flatMap((r) => r.results).map((x) => x.generatorCores ?? 0));
  const ratios: Ratio[] = [
    { label: 'cache hit 1 KiB vs static (req/s)', value: hitRatio, target: HIT_TARGET },
    ...(ngRatio !== undefined ? [{ label: 'cache hit 1 KiB vs nginx proxy_cache (req/s)', value: ngRatio, target: NGINX_STRETCH }] : []),
    { label: 'micro-cached Django vs uncached (req/s)', value: microRatio, target: MICRO_TARGET },
  ];
  return {
    title: `cache: disk-store hits vs static and Nginx proxy_cache, and a 1 s micro-cache in front of Django (${generator}, ${settings.connections} connections, keep-alive)`,
    header: ['server', 'req/s (median)', 'p50 latency', 'p99 latency', 'CPU per request', 'ratio', 'target'],
    rows: [
      line(hit, '', ''),
      line(stat, ratio(hitRatio), `hit >= ${HIT_TARGET}x static: ${verdict(hitRatio >= HIT_TARGET)}`),
      ng
        ? line(ng, ratio(ngRatio!), `stretch: hit >= ${NGINX_STRETCH}x: ${ngRatio! >= NGINX_STRETCH ? 'pass' : 'not yet'}`)
        : ['nginx `proxy_cache`', `skipped: ${nginxMissing}`, '', '', '', '', ''],
      line(micro, ratio(microRatio), `>= ${MICRO_TARGET}x uncached: ${verdict(microRatio >= MICRO_TARGET)}`),
      line(django, '', ''),
    ],
    notes: [
      `${settings.rounds} rounds x ${settings.seconds} s per server, alternating order, after a ${settings.warmupSeconds} s warm-up each; every front server runs 2 workers; the Django pools ${procs} Python processes each (GATEKIT_BENCH_CACHE_PROCS).`,
      'ratios: the cache hit against static and Nginx, the micro-cached view against the uncached one. Before the load, the three 1 KiB servers answered the same body.',
      `CPU per request is the server's process tree (Node alone in brackets); the load generator used ${gen.toFixed(2)} cores (median of the rounds) of ${cpus().length}, shared with the servers; load average at the end ${loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}.`,
      `errors and non-2xx answers during load: ${errors}.`,
    ],
    passed: hitRatio >= HIT_TARGET && microRatio >= MICRO_TARGET && errors === 0,
    ratios,
  };
}
