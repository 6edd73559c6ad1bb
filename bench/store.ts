import { existsSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, waitForFile, type Child } from './procs.js';
import { median, ms, percentile, verdict, type Section } from './report.js';
import { envInt } from './settings.js';

// Scenario `store`: the latency `limit { store shared }` adds, against a local redis-server on a
// unix socket. Three single-process gatekits answer `respond "ok"`: with no limit, with a local
// rate limit, and with the same rate kept in Redis. Sequential keep-alive requests (no queueing
// in the server, so the latency is the work itself) go to each in turn, rounds
// alternating; the added latency is the shared one's p99 less the unlimited one's.

const ADDED_P99_TARGET = 1; // ms
const LANES = 1;
const REQUESTS = envInt('GATEKIT_BENCH_STORE_REQUESTS', 4000);
const ROUNDS = envInt('GATEKIT_BENCH_ROUNDS', 5);
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

interface Target {
  readonly name: string;
  readonly port: number;
  readonly samples: number[];
  readonly p99s: number[];
}

/** probe sends `n` requests over `lanes` keep-alive connections, one at a time on each, and records each one's latency. */
async function probe(port: number, n: number, lanes: number, into: number[]): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: lanes });
  let left = n;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      request({ port, host: '127.0.0.1', path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          else {
            into.push(performance.now() - t0);
            resolve();
          }
        });
      })
        .on('error', reject)
        .end();
    });
  const lane = async (): Promise<void> => {
    while (left-- > 0) await one();
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  agent.destroy();
}

/** runStore measures the p99 latency a shared limit adds over no limit, with a local limit beside it. */
export async function runStore(): Promise<Section> {
  if (!REDIS) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  const dir = tempDir();
  const started: Child[] = [];
  try {
    const socket = join(dir, 'redis.sock');
    started.push(
      startChild('redis-server', REDIS, ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir]),
    );
    await waitForFile(socket, started[0]);
    const targets: Target[] = [];
    for (const [name, limit] of [
      ['none', ''],
      ['local', '    limit { rate 1000000/s burst 1000000 }\n'],
      ['shared', '    limit { rate 1000000/s burst 1000000; store shared }\n'],
    ]) {
      const port = await freePort();
      writeFileSync(
        join(dir, `${name}.gate`),
        `global { workers 0; store unix:${socket} }\nserver {\n    listen 127.0.0.1:${port}\n${limit}    respond "ok"\n}\n`,
      );
      const child = startChild(`gatekit ${name}`, process.execPath, [GATEKIT_BIN, 'run', join(dir, `${name}.gate`)]);
      started.push(child);
      await waitFor200(port, child, 20_000, 20);
      targets.push({ name, port, samples: [], p99s: [] });
    }
    for (const t of targets) await probe(t.port, REQUESTS / 4, LANES, []); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of r % 2 ? [...targets].reverse() : targets) {
        const round: number[] = [];
        await probe(t.port, REQUESTS, LANES, round);
        t.samples.push(...round);
        t.p99s.push(percentile(round, 99));
      }
      process.stderr.write(`  round ${r + 1}/${ROUNDS}: ${targets.map((t) => `${t.name} p99 ${ms(t.p99s[r])}`).join(', ')}\n`);
    }
    const [none, local, shared] = targets;
    const p99 = (t: Target): number => median(t.p99s);
    const added = p99(shared) - p99(none);
    const row = (t: Target, label: string, extra: string[]): string[] => [label, ms(median(t.samples)), ms(p99(t)), ...extra];
    return {
      title: `store: latency a shared limit adds (local redis-server on a unix socket, ${LANES} keep-alive connection, one request at a time)`,
      header: ['server', 'p50 latency', 'p99 latency (median of rounds)', 'p99 added over no limit', 'target'],
      rows: [
        row(shared, '`limit { rate ...; store shared }` (GCRA script in Redis), workers 0', [
          ms(added),
          `< ${ADDED_P99_TARGET} ms: ${verdict(added < ADDED_P99_TARGET)}`,
        ]),
        row(local, '`limit { rate ... }` (in the process), workers 0', [ms(p99(local) - p99(none)), '']),
        row(none, '`respond` with no limit, workers 0', ['', '']),
      ],
      notes: [
        `${ROUNDS} rounds x ${REQUESTS} requests per server over ${LANES} connection(s), one request at a time on each, alternating order; p50 over all requests, p99 the median of the rounds' p99s.`,
        `load average at the end: ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')}; a store answer needs redis-server scheduled too, so on a busy machine the tail is mostly waiting for a core.`,
      ],
      passed: added < ADDED_P99_TARGET,
      ratios: [{ label: 'p99 ms added by store shared (budget 1 ms / added)', value: ADDED_P99_TARGET / Math.max(added, 0.001), target: 1 }],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
