import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pickLoadGenerator, type LoadGenerator, type LoadResult } from './load.js';
import { BARE_SERVER, GATEKIT_BIN } from './paths.js';
import { cpuMs, freePort, rawResponse, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { describeLoad, settings } from './settings.js';
import { respondConfig } from './startup.js';

const TARGET_RATIO = 0.9;

/** Target is one server under load, with the server's CPU time per request of each round. */
export interface Target {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly results: LoadResult[];
  readonly cpuUs: number[];
}

/** startGatekit serves respondConfig() with `gatekit run` on a Node binary (node flags first, e.g. --cpu-prof) and waits for its first 200. */
export async function startGatekit(dir: string, nodeFlags: readonly string[] = [], node = process.execPath): Promise<{ child: Child; port: number }> {
  const port = await freePort();
  const file = join(dir, 'respond.gate');
  writeFileSync(file, respondConfig(port));
  const child = startChild('gatekit run', node, [...nodeFlags, GATEKIT_BIN, 'run', file]);
  await waitFor200(port, child, 10_000, 10);
  return { child, port };
}

/** startBare starts the bare Node peer (node flags first) and waits for its first 200. */
export async function startBare(nodeFlags: readonly string[] = []): Promise<{ child: Child; port: number }> {
  const port = await freePort();
  const child = startChild('bare server', process.execPath, [...nodeFlags, BARE_SERVER, String(port)]);
  await waitFor200(port, child, 10_000, 10);
  return { child, port };
}

/** measure loads each target for the configured rounds, alternating who goes first, recording req/s and CPU per request. */
export async function measure(load: LoadGenerator, targets: readonly Target[]): Promise<void> {
  const o = { connections: settings.connections, seconds: settings.seconds };
  for (const t of targets) await load.run(t.url, { ...o, seconds: settings.warmupSeconds });
  for (let r = 0; r < settings.rounds; r++) {
    // Alternate who goes first so that drift (thermal, neighbours) hits both alike.
    const order = r % 2 ? [...targets].reverse() : targets;
    for (const t of order) {
      const before = cpuMs(t.pid);
      const res = await load.run(t.url, o);
      const after = cpuMs(t.pid);
      t.results.push(res);
      if (before !== undefined && after !== undefined) t.cpuUs.push(((after - before) * 1000) / res.requests);
      process.stderr.write(
        `  round ${r + 1}/${settings.rounds} ${t.name}: ${res.rps.toFixed(0)} req/s p50 ${ms(res.p50Ms)} p99 ${ms(res.p99Ms)}` +
          ` cpu ${t.cpuUs.length ? `${t.cpuUs[t.cpuUs.length - 1].toFixed(1)} us/req` : 'n/a'}\n`,
      );
    }
  }
}

/** runRespond compares `respond` throughput with a bare http.createServer answering the same bytes. */
export async function runRespond(): Promise<Section> {
  const load = pickLoadGenerator();
  const dir = tempDir();
  const started: Child[] = [];
  try {
    const gk = await startGatekit(dir);
    started.push(gk.child);
    const bare = await startBare();
    started.push(bare.child);
    const [a, b] = await Promise.all([rawResponse(gk.port), rawResponse(bare.port)]);
    const same = a === b;
    const gate: Target = { name: 'gatekit', url: `http://127.0.0.1:${gk.port}/`, pid: gk.child.proc.pid!, results: [], cpuUs: [] };
    const peer: Target = { name: 'bare', url: `http://127.0.0.1:${bare.port}/`, pid: bare.child.proc.pid!, results: [], cpuUs: [] };
    await measure(load, [gate, peer]);

    const rps = (t: Target): number => median(t.results.map((x) => x.rps));
    const paired = median(gate.results.map((x, i) => x.rps / peer.results[i].rps));
    const r = rps(gate) / rps(peer);
    const errors = [...gate.results, ...peer.results].reduce((n, x) => n + x.errors, 0);
    const cpu = (t: Target): number | undefined => (t.cpuUs.length ? median(t.cpuUs) : undefined);
    const gCpu = cpu(gate),
      bCpu = cpu(peer);
    const efficiency = gCpu && bCpu ? bCpu / gCpu : undefined;
    const row = (t: Target, vs: string, res: string): string[] => [
      t.name === 'gatekit' ? '`gatekit run`, `respond "hello world\\n"`, workers 0' : 'bare `http.createServer` (bench/bare-server.ts)',
      rps(t).toFixed(0),
      ms(median(t.results.map((x) => x.p50Ms))),
      ms(median(t.results.map((x) => x.p99Ms))),
      cpu(t) === undefined ? 'n/a' : `${cpu(t)!.toFixed(1)} us`,
      vs,
      res,
    ];
    return {
      title: `respond throughput vs a bare Node server (${load.name}, ${settings.connections} connections, keep-alive)`,
      header: ['server', 'req/s (median)', 'p50 latency', 'p99 latency', 'server CPU / request', 'gatekit / bare', `target >= ${TARGET_RATIO}x`],
      rows: [
        row(gate, ratio(r), verdict(r >= TARGET_RATIO)),
        row(peer, '', ''),
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
        `load: ${describeLoad(load.name)}; each server is a single process of its own.`,
        `per-round req/s: gatekit ${gate.results.map((x) => x.rps.toFixed(0)).join(', ')}; bare ${peer.results.map((x) => x.rps.toFixed(0)).join(', ')}.`,
        `per-round server CPU (user + system, from /proc) per request, us: gatekit ${gate.cpuUs.map((x) => x.toFixed(1)).join(', ')}; bare ${peer.cpuUs.map((x) => x.toFixed(1)).join(', ')}. CPU per request is the steadier figure when other work shares the machine; req/s swings with it.`,
        `load average at the end: ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')} (${cpus().length} cores).`,
        `responses byte-identical apart from Date: ${same ? 'yes' : `NO\n\n  gatekit:\n  ${JSON.stringify(a)}\n  bare:\n  ${JSON.stringify(b)}`}; errors and non-2xx answers during load: ${errors}.`,
      ],
      passed: r >= TARGET_RATIO && same && errors === 0,
      ratios: [{ label: 'respond vs bare Node (req/s)', value: r, target: TARGET_RATIO }],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
