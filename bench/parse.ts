import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { container } from 'tsyringe';
import { loadConfig } from '../core/load.js';
import type { Diagnostic } from '../dsl/diagnostics.js';
import { expandText, Sources } from '../dsl/expand.js';
import { registerBuiltins } from '../plugins/index.js';
import { generateConfig } from './gen-config.js';
import { GATEKIT_BIN } from './paths.js';
import { removeTempDir, startChild } from './procs.js';
import { median, ms, percentile, ratio, verdict, type Section } from './report.js';

const TARGET_MS = 200;
const WARMUP = 5;
const RUNS = 20;
const COLD_RUNS = 5;

/** freshRoot is a root container with the built-ins, as bin/gatekit.ts and testRoot() make it. */
function freshRoot() {
  const root = container.createChildContainer();
  registerBuiltins(root);
  return root;
}

async function timeLoad(file: string, text: string): Promise<number> {
  const t0 = performance.now();
  const loaded = await loadConfig(file, { root: freshRoot(), text, env: {} });
  const t = performance.now() - t0;
  if (!loaded.config)
    throw new Error(
      `generated config has errors: ${loaded.diagnostics
        .slice(0, 3)
        .map((d) => d.message)
        .join('; ')}`,
    );
  return t;
}

function timeExpand(file: string, text: string): number {
  const t0 = performance.now();
  const diags: Diagnostic[] = [];
  expandText(text, file, { env: {}, sources: new Sources(), diags });
  return performance.now() - t0;
}

/** wallTime runs a command in a fresh process and returns its wall time (it must exit 0). */
async function wallTime(name: string, args: readonly string[]): Promise<number> {
  const t0 = performance.now();
  const child = startChild(name, process.execPath, args);
  const timer = setTimeout(() => void child.stop(1000), 30_000);
  const code = await child.exited;
  clearTimeout(timer);
  const t = performance.now() - t0;
  if (code !== 0) throw new Error(`${name} exited with ${code}:\n${child.output()}`);
  return t;
}

/** runParse times loading a generated 5,000-directive config, warm in this process and cold in fresh ones. */
export async function runParse(): Promise<Section> {
  const gen = generateConfig({ directives: 5000, ports: Array.from({ length: 10 }, (_, i) => 20000 + i) });
  try {
    const text = readFileSync(gen.file, 'utf8');
    const first = await timeLoad(gen.file, text);
    for (let i = 1; i < WARMUP; i++) await timeLoad(gen.file, text);
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i++) warm.push(await timeLoad(gen.file, text));
    const expand: number[] = [];
    for (let i = 0; i < RUNS; i++) expand.push(timeExpand(gen.file, text));
    const cold: number[] = [];
    const nodeOnly: number[] = [];
    const tiny: number[] = [];
    const tinyFile = join(gen.dir, 'tiny.gate');
    writeFileSync(tinyFile, 'server { listen 127.0.0.1:20000; respond "ok" }\n');
    for (let i = 0; i < COLD_RUNS; i++) {
      cold.push(await wallTime('gatekit check', [GATEKIT_BIN, 'check', gen.file]));
      tiny.push(await wallTime('gatekit check (one line)', [GATEKIT_BIN, 'check', tinyFile]));
      nodeOnly.push(await wallTime('node -e 0', ['-e', '0']));
    }
    const med = median(warm),
      p95 = percentile(warm, 95);
    const coldMed = median(cold),
      nodeMed = median(nodeOnly),
      tinyMed = median(tiny);
    return {
      title: `parse + validate: ${gen.directives} directives (${gen.servers} servers, ${gen.files} files)`,
      header: ['measure', 'time', 'target', 'time / target', 'result'],
      rows: [
        [`loadConfig, warm, median of ${RUNS}`, ms(med), `< ${TARGET_MS} ms`, ratio(med / TARGET_MS), verdict(med < TARGET_MS)],
        [`loadConfig, warm, p95 of ${RUNS}`, ms(p95), `< ${TARGET_MS} ms`, ratio(p95 / TARGET_MS), verdict(p95 < TARGET_MS)],
        ['loadConfig, first call in this process (modules loaded; the generator parsed once)', ms(first), '', ratio(first / TARGET_MS), ''],
        [`  of which lex + parse + include/import/env (expandText), median of ${RUNS}`, ms(median(expand)), '', ratio(median(expand) / TARGET_MS), ''],
        [`\`gatekit check FILE\`, fresh process wall time, first of ${COLD_RUNS}`, ms(cold[0]), '', ratio(cold[0] / TARGET_MS), ''],
        [`\`gatekit check FILE\`, fresh process wall time, median of ${COLD_RUNS}`, ms(coldMed), '', ratio(coldMed / TARGET_MS), ''],
        [`\`gatekit check\` on a one-line config, fresh process, median of ${COLD_RUNS} (fixed cost)`, ms(tinyMed), '', ratio(tinyMed / TARGET_MS), ''],
        [`\`node -e 0\`, fresh process wall time, median of ${COLD_RUNS} (reference)`, ms(nodeMed), '', ratio(nodeMed / TARGET_MS), ''],
      ],
      notes: [
        `warm = ${WARMUP} warm-up calls first; each call builds a fresh root container with the built-ins and passes the root file's text (included files are read from disk).`,
        `cold check of the 5k config = ${ms(nodeMed)} Node start-up + ${ms(tinyMed - nodeMed)} gatekit's fixed cost (module loading, grammar set-up) + ${ms(coldMed - tinyMed)} loading the 5k config with a cold JIT.`,
        `directives are counted as written (include, import and snippet count once); the config has comments, snippets, a conf.d glob include, name-based and wildcard virtual hosts on 10 shared listen addresses, nested prefix/exact/regex routes and respond templates with request variables.`,
      ],
      passed: med < TARGET_MS && p95 < TARGET_MS,
      ratios: [{ label: 'parse 5k directives (budget / median)', value: TARGET_MS / med, target: 1 }],
    };
  } finally {
    removeTempDir(gen.dir);
  }
}
