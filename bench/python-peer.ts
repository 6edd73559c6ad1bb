import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { alternateRounds, pickLoadGenerator, type Contender } from './load.js';
import { GATEKIT_BIN, PKG_DIR } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './respond.js';

// The wsgi and asgi scenarios: one sample app served by gatekit's Python pool and by the
// Python server a user would pick instead, the same interpreter and number of processes.

/** VENV is the bin folder of the venv .ci/run makes (Gunicorn, Uvicorn, the interpreter). */
export const VENV = join(PKG_DIR, '.venv', 'bin');

/** PythonPeerSpec is what differs between the two scenarios. */
export interface PythonPeerSpec {
  /** kind is gatekit's directive: wsgi or asgi. */
  readonly kind: 'wsgi' | 'asgi';
  /** sample is the folder under samples/ holding hello.py. */
  readonly sample: string;
  readonly target: number;
  /** peer is the other server: its venv binary, its row name, its command line, its name in the table. */
  readonly peer: { readonly bin: string; readonly name: (procs: number) => string; readonly args: (procs: number, port: number, appDir: string) => string[]; readonly label: string };
  /** note says how the two differ in what they do per request. */
  readonly note: string;
}

function envInt(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : dflt;
}

async function started(child: Child, port: number): Promise<{ child: Child; url: string }> {
  await waitFor200(port, child, 20_000, 20);
  return { child, url: `http://127.0.0.1:${port}/` };
}

/**
 * runPythonPeer serves samples/SAMPLE with gatekit and with the peer, the same number of
 * Python processes each (GATEKIT_BENCH_<KIND>_PROCS, default 2; gatekit's Node workers:
 * GATEKIT_BENCH_<KIND>_NODE, default 1), and compares throughput under one load, side by
 * side in one run, rounds alternating.
 */
export async function runPythonPeer(spec: PythonPeerSpec): Promise<Section> {
  const peerBin = join(VENV, spec.peer.bin);
  if (!existsSync(peerBin)) throw new Error(`${peerBin} is missing: python3 -m venv .venv && .venv/bin/pip install ${spec.peer.bin}`);
  const KIND = spec.kind.toUpperCase();
  const procs = envInt(`GATEKIT_BENCH_${KIND}_PROCS`, 2);
  const nodeWorkers = envInt(`GATEKIT_BENCH_${KIND}_NODE`, 1);
  const appDir = join(PKG_DIR, 'samples', spec.sample);
  const load = pickLoadGenerator();
  const dir = tempDir();
  const children: Child[] = [];
  const contenders: Contender[] = [
    { name: spec.peer.name(procs), results: [] },
    { name: `gatekit ${spec.kind}, ${procs} Python workers, ${nodeWorkers} Node worker(s)`, results: [] },
  ];
  try {
    const peerPort = await freePort();
    const peer = await started(startChild(spec.peer.bin, peerBin, spec.peer.args(procs, peerPort, appDir)), peerPort);
    children.push(peer.child);
    contenders[0].url = peer.url;
    const port = await freePort();
    const file = join(dir, `${spec.kind}.gate`);
    writeFileSync(file, `global { workers ${nodeWorkers} }\nserver {\n    listen 127.0.0.1:${port}\n` +
      `    ${spec.kind} hello:application { python ${join(VENV, 'python')}; chdir ${appDir}; workers ${procs} }\n}\n`);
    const gk = await started(startChild('gatekit run', process.execPath, [GATEKIT_BIN, 'run', file]), port);
    children.push(gk.child);
    contenders[1].url = gk.url;
    await alternateRounds(load, contenders, settings);
    const rps = (c: Contender): number => median(c.results.map((x) => x.rps));
    const base = rps(contenders[0]);
    const errors = contenders.reduce((n, c) => n + c.results.reduce((m, x) => m + x.errors, 0), 0);
    const gain = rps(contenders[1]) / base;
    return {
      title: `${spec.kind}: samples/${spec.sample}, gatekit vs ${spec.peer.label} (${load.name}, ${settings.connections} connections)`,
      header: ['server', 'req/s (median)', 'p50 latency', 'p99 latency', `vs ${spec.peer.bin}`, `target >= ${spec.target}x`],
      rows: contenders.map((c, i) => [
        c.name, rps(c).toFixed(0), ms(median(c.results.map((x) => x.p50Ms))), ms(median(c.results.map((x) => x.p99Ms))),
        i ? ratio(rps(c) / base) : '', i ? verdict(gain >= spec.target) : '',
      ]),
      notes: [
        `both run the same interpreter (.venv/bin/python) and app; ${spec.note}`,
        `per-round req/s: ${contenders.map((c) => `${c.name}: ${c.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
        `the load generator shares the ${cpus().length} cores with the servers; load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}.`,
        `errors and non-2xx answers during load: ${errors}.`,
      ],
      passed: gain >= spec.target && errors === 0,
      ratios: [{ label: `${spec.kind} vs ${spec.peer.label}`, value: gain, target: spec.target }],
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
