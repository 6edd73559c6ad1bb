import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateConfig } from './gen-config.js';
import { BARE_SERVER, GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200 } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';

const TARGET_MS = 1000;
const RUNS = 5;

/** respondConfig is the small config both startup and throughput scenarios serve. */
export function respondConfig(port: number): string {
  return `global { workers 0 }\nserver {\n    listen 127.0.0.1:${port}\n    respond "hello world\\n"\n}\n`;
}

/** timeToFirst200 spawns `node ARGS`, polls 127.0.0.1:PORT until a 200, stops the child, and returns the elapsed ms. */
async function timeToFirst200(name: string, args: readonly string[], port: number): Promise<number> {
  const t0 = performance.now();
  const child = startChild(name, process.execPath, args);
  try {
    return (await waitFor200(port, child, 10_000)) - t0;
  } finally {
    await child.stop();
  }
}

async function gatekitSmall(dir: string): Promise<number> {
  const port = await freePort();
  const file = join(dir, 'small.gate');
  writeFileSync(file, respondConfig(port));
  return timeToFirst200('gatekit run (small)', [GATEKIT_BIN, 'run', file], port);
}

async function gatekitLarge(): Promise<number> {
  const ports: number[] = [];
  while (ports.length < 10) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const gen = generateConfig({ directives: 5000, ports });
  try {
    return await timeToFirst200('gatekit run (5k)', [GATEKIT_BIN, 'run', gen.file], ports[0]);
  } finally {
    removeTempDir(gen.dir);
  }
}

async function bare(): Promise<number> {
  const port = await freePort();
  return timeToFirst200('bare server', [BARE_SERVER, String(port)], port);
}

/** runStartup measures process spawn to first 200 for gatekit and the bare Node peer, interleaved. */
export async function runStartup(): Promise<Section> {
  const dir = tempDir();
  try {
    // One discarded round warms the page cache for every module; then rounds interleave the three.
    await gatekitSmall(dir);
    await bare();
    await gatekitLarge();
    const small: number[] = [],
      peer: number[] = [],
      large: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      small.push(await gatekitSmall(dir));
      peer.push(await bare());
      large.push(await gatekitLarge());
    }
    const s = median(small),
      b = median(peer),
      l = median(large);
    return {
      title: '`gatekit run` to first answered request',
      header: ['measure', `median of ${RUNS}`, 'bare Node peer', 'gatekit / bare', 'target', 'result'],
      rows: [
        ['`gatekit run` small config (one server, respond)', ms(s), ms(b), ratio(s / b), `< ${TARGET_MS} ms`, verdict(s < TARGET_MS)],
        ['`gatekit run` generated 5,000-directive config', ms(l), ms(b), ratio(l / b), `< ${TARGET_MS} ms`, verdict(l < TARGET_MS)],
        ['bare `http.createServer` peer (bench/bare-server.ts)', ms(b), '', '', '', ''],
      ],
      notes: [
        'time from spawn() of `node dist/bin/gatekit.js run FILE` to the first HTTP 200 on 127.0.0.1, polling every 2 ms (bounded at 10 s); every child is stopped before the next starts.',
        `samples (ms): small ${small.map((v) => v.toFixed(0)).join(', ')}; 5k ${large.map((v) => v.toFixed(0)).join(', ')}; bare ${peer.map((v) => v.toFixed(0)).join(', ')}.`,
      ],
      passed: s < TARGET_MS && l < TARGET_MS,
      ratios: [{ label: 'run to first answer (budget / time)', value: TARGET_MS / s, target: 1 }],
    };
  } finally {
    removeTempDir(dir);
  }
}
