import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { alternateRounds, pickLoadGenerator, type Contender } from './load.js';
import { PKG_DIR } from './paths.js';
import { cpuMs, rawResponse, removeTempDir, tempDir, type Child } from './procs.js';
import { median, ms, ratio, type Section } from './report.js';
import { startGatekit } from './respond.js';
import { describeLoad, envInt, settings } from './settings.js';

// Scenario `node-versions`: the same `gatekit run` with `respond` (one process) on the Node
// that runs the bench and on another major version, rounds alternating. The other Node comes
// from npm's node-<platform>-<arch> package (the binary ships inside it), installed on first
// use under node_modules/.cache/; GATEKIT_BENCH_OTHER_NODE names a binary to use instead.
// gatekit itself keeps supporting the Node versions package.json's engines allow.

/** OTHER_MAJOR is the Node major version compared with the running one (GATEKIT_BENCH_OTHER_NODE_MAJOR). */
const OTHER_MAJOR = envInt('GATEKIT_BENCH_OTHER_NODE_MAJOR', 24);

/** otherNode returns the other Node binary, installing npm's package of it on first use; or why it cannot. */
function otherNode(): { bin: string } | { why: string } {
  if (process.env.GATEKIT_BENCH_OTHER_NODE) return { bin: process.env.GATEKIT_BENCH_OTHER_NODE };
  const pkg = `node-${process.platform}-${process.arch}`;
  const prefix = join(PKG_DIR, 'node_modules', '.cache', 'gatekit-bench', `node-${OTHER_MAJOR}`);
  const bin = join(prefix, 'node_modules', pkg, 'bin', 'node');
  if (existsSync(bin)) return { bin };
  process.stderr.write(`  installing ${pkg}@${OTHER_MAJOR} from npm into ${prefix}\n`);
  const r = spawnSync('npm', ['install', '--no-save', '--no-package-lock', '--prefix', prefix, `${pkg}@${OTHER_MAJOR}`], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0 || !existsSync(bin))
    return { why: `npm could not install ${pkg}@${OTHER_MAJOR}: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ')}` };
  return { bin };
}

/** versionOf asks a Node binary its version. */
function versionOf(bin: string): string {
  return spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/** runNodeVersions compares `gatekit run` with `respond` on the running Node and on another major version (for information: no target). */
export async function runNodeVersions(): Promise<Section> {
  const title = `node-versions: gatekit \`respond\`, 1 process, on Node ${process.version} vs Node ${OTHER_MAJOR}`;
  const other = otherNode();
  if ('why' in other) return { title, header: ['result'], rows: [[`skipped: ${other.why}`]], notes: [], passed: true };
  const load = pickLoadGenerator();
  const started: Child[] = [];
  const dirs = [tempDir(), tempDir()];
  try {
    const rows: Contender[] = [];
    for (const [i, bin] of [process.execPath, other.bin].entries()) {
      const gk = await startGatekit(dirs[i], [], bin);
      started.push(gk.child);
      const pid = gk.child.proc.pid!;
      rows.push({ name: `node ${versionOf(bin)}`, url: `http://127.0.0.1:${gk.port}/`, results: [], cpu: { node: () => cpuMs(pid) }, cpuUs: {} });
    }
    const [a, b] = await Promise.all(rows.map((r) => rawResponse(Number(new URL(r.url!).port))));
    if (a !== b) throw new Error(`the two Nodes answered differently:\n${a}\n---\n${b}`);
    await alternateRounds(load, rows, settings, 'node-versions ');
    const rps = (r: Contender): number => median(r.results.map((x) => x.rps));
    const cpu = (r: Contender): number => median(r.cpuUs?.node ?? [NaN]);
    const errors = rows.reduce((n, r) => n + r.results.reduce((k, x) => k + x.errors, 0), 0);
    return {
      title,
      header: ['Node', 'req/s (median)', 'p50 latency', 'p99 latency', 'CPU / request', 'req/s vs the first'],
      rows: rows.map((r) => [
        r.name,
        rps(r).toFixed(0),
        ms(median(r.results.map((x) => x.p50Ms))),
        ms(median(r.results.map((x) => x.p99Ms))),
        `${cpu(r).toFixed(1)} us`,
        ratio(rps(r) / rps(rows[0])),
      ]),
      notes: [
        `the same dist/ build and config (\`respond "hello world\\n"\`, workers 0) on both; the other Node is ${other.bin}.`,
        `load: ${describeLoad(load.name)}; load average at the end: ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')} (${cpus().length} cores).`,
        `per-round req/s: ${rows.map((r) => `${r.name}: ${r.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}; errors and non-2xx answers during load: ${errors}.`,
      ],
      passed: errors === 0,
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    for (const d of dirs) removeTempDir(d);
  }
}
