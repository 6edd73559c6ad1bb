import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { pickLoadGenerator, type LoadResult } from './load.js';
import { BARE_SERVER, GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './respond.js';

// Scenario `proxy`: one shared upstream (the bare Node server), and in front of it gatekit's
// `proxy`, Nginx proxy_pass with upstream keepalive, and node-http-proxy: one process each.

const PEER = join(dirname(BARE_SERVER), 'http-proxy-peer.js');

interface Target { readonly name: string; readonly port: number; readonly results: LoadResult[] }

function nginxBin(): string | undefined {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    try { execFileSync(p, ['-v'], { stdio: 'ignore' }); return p; } catch { /* next */ }
  }
  return undefined;
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
    const gp = await freePort();
    writeFileSync(join(dir, 'proxy.gate'), `global { workers 0 }\nserver {\n    listen 127.0.0.1:${gp}\n    proxy http://127.0.0.1:${up}\n}\n`);
    const gk = startChild('gatekit proxy', process.execPath, [GATEKIT_BIN, 'run', join(dir, 'proxy.gate')]);
    started.push(gk);
    await waitFor200(gp, gk, 10_000, 10);
    targets.push({ name: 'gatekit proxy, 1 process', port: gp, results: [] });
    const hp = await freePort();
    const peer = startChild('node-http-proxy', process.execPath, [PEER, String(hp), `http://127.0.0.1:${up}`]);
    started.push(peer);
    await waitFor200(hp, peer, 10_000, 10);
    targets.push({ name: 'node-http-proxy 1.18, 1 process', port: hp, results: [] });
    const nginx = nginxBin();
    if (nginx) {
      const np = await freePort();
      mkdirSync(join(dir, 'tmp'));
      writeFileSync(join(dir, 'nginx.conf'), [
        'user root;', 'worker_processes 1;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/nginx-error.log;`, 'events { worker_connections 1024; }',
        'http {', '  access_log off;', `  client_body_temp_path ${dir}/tmp;`, `  proxy_temp_path ${dir}/tmp;`, `  fastcgi_temp_path ${dir}/tmp;`,
        `  uwsgi_temp_path ${dir}/tmp;`, `  scgi_temp_path ${dir}/tmp;`, '  keepalive_requests 1000000;',
        `  upstream app { server 127.0.0.1:${up}; keepalive 128; }`,
        `  server { listen 127.0.0.1:${np}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }`, '}', '',
      ].join('\n'));
      const ng = startChild('nginx', nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
      started.push(ng);
      await waitFor200(np, ng, 10_000, 10);
      targets.push({ name: 'nginx proxy_pass + keepalive, worker_processes 1', port: np, results: [] });
    }
    targets.push({ name: 'upstream alone (no proxy)', port: up, results: [] });
    const o = { connections: Math.min(settings.connections, 20), seconds: settings.seconds };
    for (const t of targets) await load.run(`http://127.0.0.1:${t.port}/`, { ...o, seconds: settings.warmupSeconds });
    for (let r = 0; r < settings.rounds; r++) {
      for (const t of r % 2 ? [...targets].reverse() : targets) {
        const res = await load.run(`http://127.0.0.1:${t.port}/`, o);
        t.results.push(res);
        process.stderr.write(`  round ${r + 1}/${settings.rounds} ${t.name}: ${res.rps.toFixed(0)} req/s p99 ${ms(res.p99Ms)}\n`);
      }
    }
    const rps = (t: Target): number => median(t.results.map((x) => x.rps));
    const p99 = (t: Target): number => median(t.results.map((x) => x.p99Ms));
    const [gate, hproxy] = targets;
    const ng = targets.find((t) => t.name.startsWith('nginx'));
    const direct = targets[targets.length - 1];
    const vsHttpProxy = rps(gate) / rps(hproxy);
    const vsNginx = ng ? rps(gate) / rps(ng) : undefined;
    const added = p99(gate) - p99(direct);
    const errors = targets.reduce((n, t) => n + t.results.reduce((m, x) => m + x.errors, 0), 0);
    return {
      title: `proxy throughput against one upstream (${load.name}, ${o.connections} connections, keep-alive both sides)`,
      header: ['server', 'req/s (median)', 'p50', 'p99', 'gatekit / this', 'target'],
      rows: [
        [gate.name, rps(gate).toFixed(0), ms(median(gate.results.map((x) => x.p50Ms))), ms(p99(gate)), '', ''],
        [hproxy.name, rps(hproxy).toFixed(0), ms(median(hproxy.results.map((x) => x.p50Ms))), ms(p99(hproxy)), ratio(vsHttpProxy), `>= 1.5x: ${verdict(vsHttpProxy >= 1.5)}`],
        ...(ng ? [[ng.name, rps(ng).toFixed(0), ms(median(ng.results.map((x) => x.p50Ms))), ms(p99(ng)), ratio(vsNginx!), `>= 1.0x: ${verdict(vsNginx! >= 1)}`]] : []),
        [direct.name, rps(direct).toFixed(0), ms(median(direct.results.map((x) => x.p50Ms))), ms(p99(direct)), '', `added p99 ${ms(added)} (< 1 ms: ${verdict(added < 1)})`],
      ],
      notes: [
        ng ? '' : 'nginx is not installed (apt-get install -y nginx): its row is skipped.',
        `per-round req/s: ${targets.map((t) => `${t.name}: ${t.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
        `every proxy and the upstream share the ${cpus().length} cores with the load generator; load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}.`,
        `errors and non-2xx answers during load: ${errors}.`,
      ].filter(Boolean),
      passed: vsHttpProxy >= 1.5 && (vsNginx ?? 1) >= 1 && added < 1 && errors === 0,
      ratios: [{ label: 'proxy vs node-http-proxy', value: vsHttpProxy, target: 1.5 }, ...(vsNginx === undefined ? [] : [{ label: 'proxy vs Nginx proxy_pass', value: vsNginx, target: 1 }])],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
