import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { request } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { selfSigned } from '../plugins/tls/self-signed.js';
import { caddyBin, caddyVersion, startCaddy } from './caddy-peer.js';
import { h2loadGenerator } from './h2load.js';
import { alternateRounds, pickLoadGenerator, type Contender, type LoadGenerator } from './load.js';
import { nginxBin, nginxVersion } from './nginx-peer.js';
import { BARE_SERVER, GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, rssKiB, startChild, tempDir, type Child } from './procs.js';
import { median, ratio, verdict, type Ratio, type Section } from './report.js';
import { settings } from './settings.js';

// Scenario `http2`: a 1 KiB static file over TLS from gatekit, Nginx (http2) and Caddy
// (GOMAXPROCS=2), 2 workers each, as issue 21 asks: HTTP/2 with h2load -c 32 -m 10, HTTP/1.1
// with wrk, alternating rounds; then what 1,000 idle HTTP/2 connections cost each server.

const WORKERS = 2;
const CONNECTIONS = 32;
const STREAMS = 10;
const IDLE = 1000;
const MiB = 1024;

const STATIC_PATH = '/index.html';
/** WHAT are the two answers measured: a file from disk (cached in memory by gatekit) and a fixed text. */
const WHAT = [
  { label: 'static 1 KiB', path: STATIC_PATH },
  { label: 'respond', path: '/respond' },
] as const;
const TEXT = 'hello from respond';

/** Run is one answer over one protocol, from the three servers. */
interface Run {
  readonly what: string;
  readonly proto: string;
  readonly contenders: readonly Contender[];
}

/** Server is one contender's process and address. */
interface Server {
  readonly name: string;
  readonly child: Child;
  readonly port: number;
}

/** runHttp2 starts the three servers on one certificate and one site, and measures them side by side. */
export async function runHttp2(): Promise<Section> {
  const title = `HTTP/2 and HTTP/1.1 over TLS: gatekit vs Nginx and Caddy, static and respond, ${WORKERS} workers each`;
  const nginx = nginxBin();
  const caddy = caddyBin();
  if (!nginx || !caddy) {
    return {
      title,
      header: ['result'],
      rows: [['skipped: needs nginx and caddy (apt-get install -y nginx caddy) and h2load (nghttp2-client)']],
      notes: [],
      passed: true,
    };
  }
  const dir = tempDir();
  const started: Child[] = [];
  try {
    const servers = await startServers(dir, nginx, caddy, started);
    // idle memory first, on servers that have served nothing yet: after the load, a process
    // gives back its load-time heap in its own time, which made the growth read negative
    const idle: number[] = [];
    for (const s of [...servers, await startFloor(dir, started)]) idle.push(await idleCost(s));
    const floor = await startRateFloor(dir, started, await staticFields(servers[0]));
    const load = { ...settings, connections: CONNECTIONS };
    const wrk: LoadGenerator = pickLoadGenerator();
    const runs: Run[] = [];
    for (const what of WHAT) {
      for (const [proto, gen] of [
        ['HTTP/2 (h2load)', h2loadGenerator(STREAMS)],
        ['HTTP/1.1 over TLS (wrk)', wrk],
      ] as const) {
        // the floor runs in the same rounds, for the row the Nginx target is about
        const withFloor = what.path === STATIC_PATH && proto.startsWith('HTTP/2') ? [...servers, floor] : servers;
        const contenders = withFloor.map((s): Contender => ({ name: s.name, url: `https://127.0.0.1:${s.port}${what.path}`, results: [] }));
        await alternateRounds(gen, contenders, load, `${what.label} ${proto} `);
        runs.push({ what: what.label, proto, contenders });
      }
    }
    return report(title, servers, runs, idle, [nginxVersion(nginx), caddyVersion(caddy)], wrk.name);
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}

/** startServers writes the site and certificate and starts gatekit, Nginx and Caddy on them, each answering over TLS. */
async function startServers(dir: string, nginx: string, caddy: string, started: Child[]): Promise<Server[]> {
  const site = join(dir, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), `${'gatekit http2 benchmark, one KiB of text. '.repeat(25).slice(0, 1023)}\n`);
  const pair = selfSigned(['localhost']);
  const [cert, key] = [join(dir, 'c.pem'), join(dir, 'c.key')];
  writeFileSync(cert, pair.cert);
  writeFileSync(key, pair.key);
  const [gp, np, cp] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'gate.gate'),
    `global { workers ${WORKERS} }\nserver {\n    listen 127.0.0.1:${gp} tls\n    tls { cert ${cert}; key ${key} }\n    route = /respond { respond "${TEXT}" }\n    static ./site\n}\n`,
  );
  const gk = startChild('gatekit run', process.execPath, [GATEKIT_BIN, 'run', join(dir, 'gate.gate')]);
  started.push(gk);
  const ng = startNginxTls(nginx, dir, { port: np, site, cert, key });
  started.push(ng);
  const cd = startCaddy(caddy, dir, { port: cp, site, cert, key, procs: WORKERS, respond: { path: '/respond', text: TEXT } });
  started.push(cd);
  const servers = [
    { name: `gatekit, workers ${WORKERS}`, child: gk, port: gp },
    { name: `nginx, worker_processes ${WORKERS}`, child: ng, port: np },
    { name: `caddy, GOMAXPROCS=${WORKERS}`, child: cd, port: cp },
  ];
  for (const s of servers) await waitForTls(s, 15_000);
  return servers;
}

/** floorPeer runs bench/h2-floor-peer.ts on the run's certificate, with `more` of its arguments. */
function floorPeer(name: string, port: number, dir: string, started: Child[], more: string[] = []): Child {
  const args = [join(dirname(BARE_SERVER), 'h2-floor-peer.js'), String(port), join(dir, 'c.pem'), join(dir, 'c.key'), ...more];
  const child = startChild(name, process.execPath, args);
  started.push(child);
  return child;
}

/** startFloor starts the bare node:http2 server (one process) whose idle connections' cost is Node's floor. */
async function startFloor(dir: string, started: Child[]): Promise<Server> {
  const port = await freePort();
  const child = floorPeer('node:http2 floor', port, dir, started);
  const s = { name: 'bare node:http2, 1 process', child, port };
  await waitForTls(s, 15_000, '/');
  return s;
}

/** PER_RESPONSE are the fields that are not the file's: the floor peer sends its own Date, and no connection fields. */
const PER_RESPONSE = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** staticFields are the header fields gatekit's `static` answers the file with (over HTTP/1.1), but those of one response or connection. */
function staticFields(gatekit: Server): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gatekit.port, path: STATIC_PATH, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      const fields: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (!PER_RESPONSE.has(k) && typeof v === 'string') fields[k] = v;
      resolve(fields);
    });
    req.once('error', reject);
    req.end();
  });
}

/**
 * startRateFloor starts the least HTTP/2 server on Node answering the same file with the same
 * fields: node:http2, WORKERS processes, the bytes from memory through `stream.respond`
 * (bench/h2-floor-peer.ts).
 */
async function startRateFloor(dir: string, started: Child[], fields: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = floorPeer('node:http2 rate floor', port, dir, started, [String(WORKERS), join(dir, 'site', 'index.html'), JSON.stringify(fields)]);
  const s = { name: `bare node:http2, ${WORKERS} processes, stream.respond from memory`, child, port };
  // it answers HTTP/2 only (no HTTP/1.1 fallback to poll)
  await waitUntil(s, 15_000, 'over HTTP/2', async () => {
    const session = await openIdle(port, 1000).catch(() => undefined);
    session?.destroy();
    return session !== undefined;
  });
  return s;
}

/** startNginxTls runs Nginx with `listen ... ssl http2` (1.22 has no `http2 on`), sendfile, no access log. */
function startNginxTls(bin: string, dir: string, o: { port: number; site: string; cert: string; key: string }): Child {
  const ndir = join(dir, 'nginx');
  mkdirSync(join(ndir, 'tmp'), { recursive: true });
  writeFileSync(
    join(ndir, 'nginx.conf'),
    [
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      `worker_processes ${WORKERS};`,
      `pid ${ndir}/nginx.pid;`,
      `error_log ${ndir}/error.log;`,
      `events { worker_connections ${IDLE * 2}; }`,
      'http {',
      '  access_log off;',
      '  sendfile on;',
      '  keepalive_requests 1000000;',
      '  include /etc/nginx/mime.types;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${ndir}/tmp;`),
      `  server { listen 127.0.0.1:${o.port} ssl http2; ssl_certificate ${o.cert}; ssl_certificate_key ${o.key}; root ${o.site}; location = /respond { default_type text/plain; return 200 "${TEXT}"; } }`,
      '}',
      '',
    ].join('\n'),
  );
  return startChild('nginx', bin, ['-p', ndir, '-c', join(ndir, 'nginx.conf'), '-g', 'daemon off;']);
}

/** waitForTls polls until the server answers 200 over https, fails if it exits or `ms` pass. */
async function waitForTls(s: Server, ms: number, path = '/index.html'): Promise<void> {
  await waitUntil(s, ms, 'over TLS', async () => {
    const status = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port: s.port, path, rejectUnauthorized: false, agent: false, timeout: 500 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(0));
      req.end();
    });
    return status === 200;
  });
}

/** waitUntil polls `ready` every 50 ms until it holds; it fails if the server exits or `ms` pass. */
async function waitUntil(s: Server, ms: number, how: string, ready: () => Promise<boolean>): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (s.child.proc.exitCode !== null) throw new Error(`${s.name} exited:\n${s.child.output()}`);
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${s.name} did not answer ${how} within ${ms} ms:\n${s.child.output()}`);
}

/**
 * idleCost opens IDLE HTTP/2 connections to a server (TLS and SETTINGS done, one request
 * each so every worker holds its streams' state once), and returns what its process tree
 * grew by in resident memory, in KiB; the connections close after.
 */
async function idleCost(s: Server): Promise<number> {
  const pid = s.child.proc.pid!;
  const before = await steadyRssKiB(pid);
  const sessions: ClientHttp2Session[] = [];
  try {
    for (let i = 0; i < IDLE; i += 50) {
      const batch = Array.from({ length: Math.min(50, IDLE - i) }, () => openIdle(s.port));
      sessions.push(...(await Promise.all(batch)));
    }
    await new Promise((r) => setTimeout(r, 1000)); // let the servers settle after the burst of handshakes
    return rssKiB(pid) - before;
  } finally {
    for (const c of sessions) c.destroy();
  }
}

/**
 * steadyRssKiB waits (at most 10 s) until a process tree's resident memory moves by less
 * than 1 MiB in a second, and returns it: one answer proves only one worker ready, and a
 * worker still loading (its heap growing by tens of MiB) was counted as the connections' cost.
 */
async function steadyRssKiB(pid: number): Promise<number> {
  let last = rssKiB(pid);
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = rssKiB(pid);
    if (Math.abs(now - last) < MiB) return now;
    last = now;
  }
  return last;
}

/** openIdle opens one HTTP/2 connection and makes one request on it, then leaves it open and quiet; it fails after `ms`. */
function openIdle(port: number, ms = 20_000): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const c = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no HTTP/2 answer from 127.0.0.1:${port}`));
    }, ms);
    c.once('error', (e: Error) => {
      clearTimeout(timer);
      reject(e);
    });
    const req = c.request({ ':path': '/respond' });
    req.resume();
    req.once('error', (e: Error) => {
      // the stream fails with its session (a refused connection, while a server starts)
      clearTimeout(timer);
      c.destroy();
      reject(e);
    });
    req.once('close', () => {
      clearTimeout(timer);
      resolve(c);
    });
  });
}

/** report puts the three servers side by side: req/s per answer and protocol, ratios to each peer, and the idle connections' memory. */
function report(title: string, servers: readonly Server[], runs: readonly Run[], idle: readonly number[], versions: readonly string[], wrk: string): Section {
  const rps = (c: Contender): number => median(c.results.map((x) => x.rps));
  const rows: string[][] = [];
  const ratios: Ratio[] = [];
  let met = true;
  for (const r of runs) {
    const [g, n, c, f] = r.contenders.map(rps);
    // the issue's targets are for the static file: >= 1.0x Caddy over both protocols, >= 0.6x Nginx over HTTP/2
    const static1k = r.what.startsWith('static');
    const toCaddy = static1k ? 1.0 : undefined;
    const toNginx = static1k && r.proto.startsWith('HTTP/2') ? 0.6 : undefined;
    rows.push([r.what, r.proto, ...[g, n, c].map((v) => v.toFixed(0)), target(g / c, toCaddy), target(g / n, toNginx)]);
    ratios.push({ label: `${r.what} ${r.proto} vs Caddy`, value: g / c, ...(toCaddy ? { target: toCaddy } : {}) });
    ratios.push({ label: `${r.what} ${r.proto} vs Nginx`, value: g / n, ...(toNginx ? { target: toNginx } : {}) });
    met &&= (!toCaddy || g / c >= toCaddy) && (!toNginx || g / n >= toNginx);
    if (f !== undefined)
      rows.push([`floor: ${r.contenders[3].name}`, r.proto, f.toFixed(0), '', '', `gatekit ${ratio(g / f)} it`, `it is ${ratio(f / n)} Nginx`]);
  }
  rows.push([
    `${IDLE} idle HTTP/2 connections`,
    'RSS growth',
    ...idle.slice(0, 3).map((k) => `+${(k / MiB).toFixed(1)} MiB`),
    `gatekit < 30 MiB ${verdict(idle[0] < 30 * MiB)}`,
    `bare node:http2 (1 process): +${(idle[3] / MiB).toFixed(1)} MiB`,
  ]);
  const errors = runs.reduce((n, r) => n + r.contenders.reduce((m, c) => m + c.results.reduce((k, x) => k + x.errors, 0), 0), 0);
  return {
    title,
    header: ['answer', 'protocol', ...servers.map((s) => `${s.name} req/s`), 'gatekit / caddy', 'gatekit / nginx'],
    rows,
    notes: [
      `peers: ${versions.join(', ')}; one self-signed RSA 2048 certificate; sendfile on in Nginx; no access logs.`,
      `HTTP/2: h2load -c ${CONNECTIONS} -m ${STREAMS} -t 1; HTTP/1.1: ${wrk} -t${settings.threads} -c ${CONNECTIONS}; ${settings.rounds} rounds x ${settings.seconds} s per server, alternating order; medians.`,
      ...runs.map(
        (r) =>
          `per-round req/s, ${r.what} ${r.proto}: ${r.contenders.map((c) => `${c.name} ${c.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
      ),
      `idle memory: growth of each server's process tree VmRSS once ${IDLE} TLS HTTP/2 connections are open (one request each) and quiet for 1 s, measured on freshly started servers before the load, from a baseline taken once their RSS is steady.`,
      `the load generators share the ${cpus().length} cores with the servers (and with other work on a shared machine); load average at the end: ${loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}.`,
      `errors and non-2xx answers during load: ${errors}.`,
    ],
    passed: errors === 0 && met && idle[0] < 30 * MiB,
    ratios,
  };
}

/** target shows a ratio with its verdict when it has a target. */
function target(value: number, min: number | undefined): string {
  return min === undefined ? ratio(value) : `${ratio(value)} (>= ${min}x ${verdict(value >= min)})`;
}
