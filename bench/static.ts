import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pickLoadGenerator, type LoadGenerator, type LoadResult } from './load.js';
import { GATEKIT_BIN } from './paths.js';
import { cpuMs, freePort, rawResponse, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './settings.js';

// Scenario `static`: a 1 KiB file served by `static`, against a bare Node server answering a
// cached buffer of the same bytes with the same headers. This file is also that peer:
//   node dist/bench/static.js peer PORT FILE ETAG LAST_MODIFIED

const TARGET_RATIO = 0.9;
/**
 * ROUNDS: this target has the least headroom of all, and single rounds here spread by about
 * ±8% (load generator on the same two cores): twice the usual rounds, plus one for a middle.
 */
const ROUNDS = 2 * settings.rounds + 1;
const SELF = fileURLToPath(import.meta.url);

/** runPeer serves FILE's bytes from memory with the headers gatekit sends for it. */
function runPeer(port: number, file: string, etag: string, lastModified: string): void {
  const body = readFileSync(file);
  const headers = { etag, 'last-modified': lastModified, 'content-type': 'text/plain; charset=utf-8', 'accept-ranges': 'bytes', 'content-length': body.length };
  const server = createServer({ keepAliveTimeout: 75_000 }, (req, res) => {
    res.writeHead(200, headers); // for every path, '/' included (waitFor200 polls it)
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 75_000;
  server.listen(port, '127.0.0.1');
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

interface Target {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly results: LoadResult[];
  readonly cpuUs: number[];
}

async function measure(load: LoadGenerator, targets: readonly Target[]): Promise<void> {
  const o = { connections: settings.connections, seconds: settings.seconds };
  for (const t of targets) await load.run(t.url, { ...o, seconds: settings.warmupSeconds });
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 ? [...targets].reverse() : targets) {
      const before = cpuMs(t.pid);
      const res = await load.run(t.url, o);
      const after = cpuMs(t.pid);
      t.results.push(res);
      if (before !== undefined && after !== undefined) t.cpuUs.push(((after - before) * 1000) / res.requests);
      process.stderr.write(`  round ${r + 1}/${ROUNDS} ${t.name}: ${res.rps.toFixed(0)} req/s, p99 ${ms(res.p99Ms)}\n`);
    }
  }
}

/** startServers starts `gatekit run` on a folder with one 1 KiB file, then the peer with the same headers. */
async function startServers(dir: string, started: Child[]): Promise<{ gate: Target; peer: Target; same: boolean }> {
  const file = join(dir, 'site', 'page.txt');
  mkdirSync(join(dir, 'site'));
  writeFileSync(join(dir, 'site', 'index.html'), 'ok\n'); // waitFor200 polls /
  writeFileSync(file, 'static bench line of text, 64 bytes long, ending in a newline.\n'.repeat(16));
  const settled = new Date(Date.now() - 60_000);
  utimesSync(file, settled, settled); // settled files are kept in memory
  const gPort = await freePort();
  writeFileSync(join(dir, 'static.gate'), `global { workers 0 }\nserver {\n    listen 127.0.0.1:${gPort}\n    static ./site\n}\n`);
  const gk = startChild('gatekit run', process.execPath, [GATEKIT_BIN, 'run', join(dir, 'static.gate')]);
  started.push(gk);
  await waitFor200(gPort, gk, 10_000, 10);
  const a = await rawResponse(gPort, '/page.txt');
  const header = (n: string): string => new RegExp(`^${n}: (.*)\r$`, 'im').exec(a)?.[1] ?? '';
  const pPort = await freePort();
  const peer = startChild('bare static peer', process.execPath, [SELF, 'peer', String(pPort), file, header('etag'), header('last-modified')]);
  started.push(peer);
  await waitFor200(pPort, peer, 10_000, 10);
  const b = await rawResponse(pPort, '/page.txt');
  return {
    gate: { name: 'gatekit', url: `http://127.0.0.1:${gPort}/page.txt`, pid: gk.proc.pid!, results: [], cpuUs: [] },
    peer: { name: 'bare', url: `http://127.0.0.1:${pPort}/page.txt`, pid: peer.proc.pid!, results: [], cpuUs: [] },
    same: a === b,
  };
}

/** runStatic compares `static` on a 1 KiB file with a bare Node server answering a cached buffer. */
export async function runStatic(): Promise<Section> {
  const load = pickLoadGenerator();
  const dir = tempDir();
  const started: Child[] = [];
  try {
    const { gate, peer, same } = await startServers(dir, started);
    await measure(load, [gate, peer]);
    const rps = (t: Target): number => median(t.results.map((x) => x.rps));
    const cpu = (t: Target): number | undefined => (t.cpuUs.length ? median(t.cpuUs) : undefined);
    const r = rps(gate) / rps(peer);
    const paired = median(gate.results.map((x, i) => x.rps / peer.results[i].rps));
    const gCpu = cpu(gate),
      bCpu = cpu(peer);
    const efficiency = gCpu && bCpu ? bCpu / gCpu : undefined;
    const errors = [...gate.results, ...peer.results].reduce((n, x) => n + x.errors, 0);
    const row = (t: Target, label: string, vs: string, res: string): string[] => [
      label,
      rps(t).toFixed(0),
      ms(median(t.results.map((x) => x.p50Ms))),
      ms(median(t.results.map((x) => x.p99Ms))),
      cpu(t) === undefined ? 'n/a' : `${cpu(t)!.toFixed(1)} us`,
      vs,
      res,
    ];
    return {
      title: `static 1 KiB file vs a bare Node server with the bytes in memory (${load.name}, ${settings.connections} connections, keep-alive)`,
      header: ['server', 'req/s (median)', 'p50 latency', 'p99 latency', 'server CPU / request', 'gatekit / bare', `target >= ${TARGET_RATIO}x`],
      rows: [
        row(gate, '`gatekit run`, `static ./site`, workers 0', ratio(r), verdict(r >= TARGET_RATIO)),
        row(peer, 'bare `http.createServer`, cached buffer (bench/static.ts peer)', '', ''),
        ['req/s, paired per-round ratio (median)', '', '', '', '', ratio(paired), verdict(paired >= TARGET_RATIO)],
        [
          'req/s per server CPU-second (bare CPU/req / gatekit CPU/req)',
          '',
          '',
          '',
          '',
          efficiency === undefined ? 'n/a' : ratio(efficiency),
          efficiency === undefined ? '' : verdict(efficiency >= TARGET_RATIO),
        ],
      ],
      notes: [
        `${ROUNDS} rounds x ${settings.seconds} s per server, alternating order, after a ${settings.warmupSeconds} s warm-up each; each server is a single process.`,
        'gatekit stats the file once per event-loop turn (so a changed file is never served stale) and serves the bytes from its memory cache; the peer never touches the disk.',
        `per-round req/s: gatekit ${gate.results.map((x) => x.rps.toFixed(0)).join(', ')}; bare ${peer.results.map((x) => x.rps.toFixed(0)).join(', ')}.`,
        `load average at the end: ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')}.`,
        `responses byte-identical apart from Date: ${same ? 'yes' : 'NO'}; errors and non-2xx answers during load: ${errors}.`,
      ],
      passed: r >= TARGET_RATIO && same && errors === 0,
      ratios: [{ label: 'static 1 KiB vs bare Node (req/s)', value: r, target: TARGET_RATIO }],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}

if (process.argv[1] === SELF && process.argv[2] === 'peer') {
  const [port, file, etag, lastModified] = process.argv.slice(3);
  runPeer(Number(port), file, etag, lastModified);
}
