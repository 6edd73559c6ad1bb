import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { alternateRounds, pickLoadGenerator, type Contender } from './load.js';
import { GATEKIT_BIN, PKG_DIR } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './respond.js';

const TARGET = 1.2;
const APP_DIR = join(PKG_DIR, 'samples', 'wsgi-hello');
const VENV = join(PKG_DIR, '.venv', 'bin');

function envInt(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : dflt;
}


async function startGatekit(dir: string, nodeWorkers: number, procs: number): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const file = join(dir, 'wsgi.gate');
  writeFileSync(file, `global { workers ${nodeWorkers} }\nserver {\n    listen 127.0.0.1:${port}\n` +
    `    wsgi hello:application { python ${join(VENV, 'python')}; chdir ${APP_DIR}; workers ${procs} }\n}\n`);
  const child = startChild('gatekit run', process.execPath, [GATEKIT_BIN, 'run', file]);
  await waitFor200(port, child, 20_000, 20);
  return { child, url: `http://127.0.0.1:${port}/` };
}

async function startGunicorn(procs: number): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = startChild('gunicorn', join(VENV, 'gunicorn'), ['--workers', String(procs), '--worker-class', 'sync', '--bind', `127.0.0.1:${port}`,
    '--chdir', APP_DIR, '--log-level', 'warning', 'hello:application']);
  await waitFor200(port, child, 20_000, 20);
  return { child, url: `http://127.0.0.1:${port}/` };
}

/**
 * runWsgi serves samples/wsgi-hello with gatekit's wsgi pool and with Gunicorn's sync
 * workers, the same number of Python processes each (GATEKIT_BENCH_WSGI_PROCS, default 2;
 * gatekit's Node workers: GATEKIT_BENCH_WSGI_NODE, default 1), and compares throughput
 * under one load, rounds alternating. Gunicorn comes from the venv .ci/run makes.
 */
export async function runWsgi(): Promise<Section> {
  if (!existsSync(join(VENV, 'gunicorn'))) throw new Error(`${join(VENV, 'gunicorn')} is missing: python3 -m venv .venv && .venv/bin/pip install gunicorn`);
  const procs = envInt('GATEKIT_BENCH_WSGI_PROCS', 2);
  const nodeWorkers = envInt('GATEKIT_BENCH_WSGI_NODE', 1);
  const load = pickLoadGenerator();
  const dir = tempDir();
  const started: Child[] = [];
  const contenders: Contender[] = [
    { name: `gunicorn sync, ${procs} workers`, results: [] },
    { name: `gatekit wsgi, ${procs} Python workers, ${nodeWorkers} Node worker(s)`, results: [] },
  ];
  try {
    const g = await startGunicorn(procs);
    started.push(g.child);
    contenders[0].url = g.url;
    const k = await startGatekit(dir, nodeWorkers, procs);
    started.push(k.child);
    contenders[1].url = k.url;
    await alternateRounds(load, contenders, settings);
    const rps = (c: Contender): number => median(c.results.map((x) => x.rps));
    const base = rps(contenders[0]);
    const errors = contenders.reduce((n, c) => n + c.results.reduce((m, x) => m + x.errors, 0), 0);
    const gain = rps(contenders[1]) / base;
    return {
      title: `wsgi: samples/wsgi-hello, gatekit vs Gunicorn sync workers (${load.name}, ${settings.connections} connections)`,
      header: ['server', 'req/s (median)', 'p50 latency', 'p99 latency', 'vs gunicorn', `target >= ${TARGET}x`],
      rows: contenders.map((c, i) => [
        c.name, rps(c).toFixed(0), ms(median(c.results.map((x) => x.p50Ms))), ms(median(c.results.map((x) => x.p99Ms))),
        i ? ratio(rps(c) / base) : '', i ? verdict(gain >= TARGET) : '',
      ]),
      notes: [
        `both run the same interpreter (.venv/bin/python) and app; Gunicorn's sync workers close each connection (no keep-alive), gatekit keeps client connections alive and opens one unix-socket connection to the pool per request.`,
        `per-round req/s: ${contenders.map((c) => `${c.name}: ${c.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
        `the load generator shares the ${cpus().length} cores with the servers; load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}.`,
        `errors and non-2xx answers during load: ${errors}.`,
      ],
      passed: gain >= TARGET && errors === 0,
      ratios: [{ label: 'wsgi vs Gunicorn sync', value: gain, target: TARGET }],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
