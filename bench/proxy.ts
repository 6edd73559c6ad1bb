import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { pickLoadGenerator, type LoadGenerator, type LoadResult } from './load.js';
import { nginxBin, nginxVersion, startNginx } from './nginx-peer.js';
import { BARE_SERVER, GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './settings.js';

// Scenario `proxy`: one shared upstream (the bare Node server), and in front of it gatekit's
// `proxy`, Nginx proxy_pass with upstream keepalive, node-http-proxy, and two floors: the
// least proxy on node:http, and the least proxy on raw sockets (HTTP parsed in JavaScript):
// one process each.
// Throughput is measured at full load (the shared setting's connections); the latency a proxy adds at moderate
// load (2 connections, each waiting for its answer before the next request) is measured apart.

const PEER = join(dirname(BARE_SERVER), 'http-proxy-peer.js');
const RAW = join(dirname(BARE_SERVER), 'raw-proxy-peer.js');
const HTTP_FLOOR = join(dirname(BARE_SERVER), 'http-floor-peer.js');
const FULL = settings.connections;
const MODERATE = 2;

interface Target {
  readonly name: string;
  readonly port: number;
  readonly full: LoadResult[];
  readonly moderate: LoadResult[];
}

/** rounds runs the alternating rounds of one load level, keeping each result under `key`. */
async function rounds(load: LoadGenerator, targets: readonly Target[], key: 'full' | 'moderate', connections: number): Promise<void> {
  const o = { connections, seconds: settings.seconds };
  for (const t of targets) await load.run(`http://127.0.0.1:${t.port}/`, { ...o, seconds: settings.warmupSeconds });
  for (let r = 0; r < settings.rounds; r++) {
    for (const t of r % 2 ? [...targets].reverse() : targets) {
      const res = await load.run(`http://127.0.0.1:${t.port}/`, o);
      t[key].push(res);
      process.stderr.write(`  ${key} load, round ${r + 1}/${settings.rounds} ${t.name}: ${res.rps.toFixed(0)} req/s p99 ${ms(res.p99Ms)}\n`);
    }
  }
}

/** runProxy measures proxy throughput and latency against Nginx and node-http-proxy, side by side. */
export async function runProxy(): Promise<Section> {
  const load = pickLoadGenerator();
  const dir = tempDir();
  const started: Child[] = [];
  try {
    const up = await freePort();
    const upstream = startChild('upstream', process.execPath, [BARE_SERVER, String(up)]);
    started.push(upstream);
    await waitFor200(up, upstream, 10_000, 10);
    const targets: Target[] = [];
    const target = (name: string, port: number): Target => ({ name, port, full: [], moderate: [] });
    const gp = await freePort();
    writeFileSync(join(dir, 'proxy.gate'), `global { workers 0 }\nserver {\n    listen 127.0.0.1:${gp}\n    proxy http://127.0.0.1:${up}\n}\n`);
    const gk = startChild('gatekit proxy', process.execPath, [GATEKIT_BIN, 'run', join(dir, 'proxy.gate')]);
    started.push(gk);
    await waitFor200(gp, gk, 10_000, 10);
    targets.push(target('gatekit proxy, 1 process', gp));
    const hp = await freePort();
    const peer = startChild('node-http-proxy', process.execPath, [PEER, String(hp), `http://127.0.0.1:${up}`]);
    started.push(peer);
    await waitFor200(hp, peer, 10_000, 10);
    targets.push(target('node-http-proxy 1.18, 1 process', hp));
    const nginx = nginxBin();
    if (nginx) {
      const np = await freePort();
      started.push(
        await startNginx(nginx, dir, {
          workers: 1,
          port: np,
          http: [
            `upstream app { server 127.0.0.1:${up}; keepalive 128; }`,
            `server { listen 127.0.0.1:${np}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
          ],
        }),
      );
      targets.push(target(`${nginxVersion(nginx)} proxy_pass + keepalive, worker_processes 1`, np));
    }
    const fp = await freePort();
    const least = startChild('http floor', process.execPath, [HTTP_FLOOR, String(fp), String(up)]);
    started.push(least);
    await waitFor200(fp, least, 10_000, 10);
    targets.push(target('least proxy on node:http (floor peer), 1 process', fp));
    const rp = await freePort();
    const raw = startChild('raw proxy', process.execPath, [RAW, String(rp), String(up)]);
    started.push(raw);
    await waitFor200(rp, raw, 10_000, 10);
    targets.push(target('least proxy on raw sockets (floor peer), 1 process', rp));
    targets.push(target('upstream alone (no proxy)', up));
    await rounds(load, targets, 'full', FULL);
    await rounds(load, targets, 'moderate', MODERATE);

    const rps = (t: Target): number => median(t.full.map((x) => x.rps));
    const p99 = (t: Target, k: 'full' | 'moderate'): number => median(t[k].map((x) => x.p99Ms));
    const [gate, hproxy] = targets;
    const ng = targets.find((t) => t.name.startsWith('nginx'));
    const floor = targets.find((t) => t.name.startsWith('least proxy on raw'))!;
    const httpFloor = targets.find((t) => t.name.startsWith('least proxy on node:http'))!;
    const direct = targets[targets.length - 1];
    const vsHttpProxy = rps(gate) / rps(hproxy);
    const vsNginx = ng ? rps(gate) / rps(ng) : undefined;
    const added = (t: Target, k: 'full' | 'moderate'): number => p99(t, k) - p99(direct, k);
    const errors = targets.reduce((n, t) => n + [...t.full, ...t.moderate].reduce((m, x) => m + x.errors, 0), 0);
    const row = (t: Target, vs: string, goal: string): string[] => [
      t.name,
      rps(t).toFixed(0),
      ms(median(t.full.map((x) => x.p50Ms))),
      ms(p99(t, 'full')),
      ms(median(t.moderate.map((x) => x.p50Ms))),
      ms(p99(t, 'moderate')),
      t === direct ? '' : ms(added(t, 'moderate')),
      vs,
      goal,
    ];
    return {
      title: `proxy against one upstream (${load.name}; throughput at ${FULL} connections, added latency at ${MODERATE}; keep-alive both sides)`,
      header: [
        'server',
        'req/s (median)',
        'p50',
        'p99',
        `p50 at ${MODERATE} conns`,
        `p99 at ${MODERATE} conns`,
        'added p99 (moderate)',
        'gatekit / this',
        'target',
      ],
      rows: [
        row(gate, '', `added p99 < 1 ms: ${verdict(added(gate, 'moderate') < 1)}`),
        row(hproxy, ratio(vsHttpProxy), `>= 1.5x: ${verdict(vsHttpProxy >= 1.5)}`),
        ...(ng ? [row(ng, ratio(vsNginx!), `>= 1.0x: ${verdict(vsNginx! >= 1)}`)] : []),
        row(httpFloor, ratio(rps(gate) / rps(httpFloor)), ''),
        row(floor, ratio(rps(gate) / rps(floor)), ''),
        row(direct, '', ''),
      ],
      notes: [
        ng ? '' : 'nginx is not installed (apt-get install -y nginx): its row is skipped.',
        `moderate load: ${MODERATE} connections, each sending its next request once the answer came; added p99 = the proxy's p99 minus the upstream's own at the same load. At full load (${FULL} connections) gatekit adds ${ms(added(gate, 'full'))} to the p99${ng ? `, Nginx ${ms(added(ng, 'full'))}` : ''}: queueing on 2 shared cores.`,
        `the least proxy on node:http (bench/http-floor-peer.ts) forwards the head with X-Forwarded-For on pooled connections and nothing else: no proxy built on Node's http server does less per request; gatekit reaches ${ratio(rps(gate) / rps(httpFloor))} of it${ng ? `, Nginx is ${ratio(rps(ng) / rps(httpFloor))} it` : ''}.`,
        `the least proxy on raw sockets (bench/raw-proxy-peer.ts) parses heads in JavaScript with no node:http on either side, and handles only body-less requests and Content-Length answers: no proxy written in JavaScript does less; gatekit reaches ${ratio(rps(gate) / rps(floor))} of it${ng ? `, Nginx is ${ratio(rps(ng) / rps(floor))} it` : ''}.`,
        `per-round req/s at full load: ${targets.map((t) => `${t.name}: ${t.full.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
        `per-round p99 at moderate load: ${targets.map((t) => `${t.name}: ${t.moderate.map((x) => ms(x.p99Ms)).join(', ')}`).join('; ')}.`,
        `every proxy and the upstream share the ${cpus().length} cores with the load generator; load average at the end: ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')}.`,
        `errors and non-2xx answers during load: ${errors}.`,
      ].filter(Boolean),
      passed: vsHttpProxy >= 1.5 && (vsNginx ?? 1) >= 1 && added(gate, 'moderate') < 1 && errors === 0,
      ratios: [
        { label: 'proxy vs node-http-proxy', value: vsHttpProxy, target: 1.5 },
        ...(vsNginx === undefined ? [] : [{ label: 'proxy vs Nginx proxy_pass', value: vsNginx, target: 1 }]),
      ],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
