import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pickLoadGenerator, type LoadResult } from './load.js';
import { GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './respond.js';

// Scenario `nginx-static`: the same 1 KiB file from gatekit's `static` and from Nginx, both
// with 2 worker processes, no access log, keep-alive. Nginx comes from Debian's packages:
//   apt-get update && apt-get install -y nginx wrk

const TARGET = 0.5;
const WORKERS = 2;

function nginxBin(): string | undefined {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    try { execFileSync(p, ['-v'], { stdio: 'ignore' }); return p; } catch { /* next */ }
  }
  return undefined;
}

function nginxVersion(bin: string): string {
  try { return execFileSync(bin, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) {
    return String((e as { stderr?: string }).stderr ?? '').trim();
  }
}

interface Target { readonly name: string; readonly url: string; readonly results: LoadResult[] }

/** runNginxStatic serves one 1 KiB file from gatekit (workers 2) and Nginx (worker_processes 2), alternating rounds. */
export async function runNginxStatic(): Promise<Section> {
  const title = `static 1 KiB file: gatekit vs Nginx, ${WORKERS} workers each`;
  const nginx = nginxBin();
  if (!nginx) {
    return { title, header: ['result'], rows: [['skipped: nginx is not installed (apt-get install -y nginx)']], notes: [], passed: true };
  }
  const load = pickLoadGenerator();
  const dir = tempDir();
  const started: Child[] = [];
  try {
    const site = join(dir, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), `${'gatekit static benchmark, one KiB of text. '.repeat(24).slice(0, 1023)}\n`);
    const [gp, np] = [await freePort(), await freePort()];
    writeFileSync(join(dir, 'gate.gate'), `global { workers ${WORKERS} }\nserver {\n    listen 127.0.0.1:${gp}\n    static ./site\n}\n`);
    writeFileSync(join(dir, 'nginx.conf'), [
      'user root;', `worker_processes ${WORKERS};`, `pid ${dir}/nginx.pid;`, `error_log ${dir}/nginx-error.log;`,
      'events { worker_connections 1024; }',
      'http {', '  include /etc/nginx/mime.types;', '  access_log off;', '  sendfile on;', '  keepalive_timeout 75s;', '  keepalive_requests 1000000;',
      `  client_body_temp_path ${dir}/tmp;`, `  proxy_temp_path ${dir}/tmp;`, `  fastcgi_temp_path ${dir}/tmp;`, `  uwsgi_temp_path ${dir}/tmp;`, `  scgi_temp_path ${dir}/tmp;`,
      `  server { listen 127.0.0.1:${np}; root ${site}; }`, '}', '',
    ].join('\n'));
    mkdirSync(join(dir, 'tmp'));
    const gk = startChild('gatekit run', process.execPath, [GATEKIT_BIN, 'run', join(dir, 'gate.gate')]);
    started.push(gk);
    await waitFor200(gp, gk, 15_000, 10);
    const ng = startChild('nginx', nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
    started.push(ng);
    await waitFor200(np, ng, 15_000, 10);
    const targets: Target[] = [
      { name: `gatekit static, workers ${WORKERS}`, url: `http://127.0.0.1:${gp}/index.html`, results: [] },
      { name: `nginx, worker_processes ${WORKERS}`, url: `http://127.0.0.1:${np}/index.html`, results: [] },
    ];
    const o = { connections: settings.connections, seconds: settings.seconds };
    for (const t of targets) await load.run(t.url, { ...o, seconds: settings.warmupSeconds });
    for (let r = 0; r < settings.rounds; r++) {
      for (const t of r % 2 ? [...targets].reverse() : targets) {
        const res = await load.run(t.url, o);
        t.results.push(res);
        process.stderr.write(`  round ${r + 1}/${settings.rounds} ${t.name}: ${res.rps.toFixed(0)} req/s\n`);
      }
    }
    const rps = (t: Target): number => median(t.results.map((x) => x.rps));
    const r = rps(targets[0]) / rps(targets[1]);
    const paired = median(targets[0].results.map((x, i) => x.rps / targets[1].results[i].rps));
    const errors = targets.reduce((n, t) => n + t.results.reduce((m, x) => m + x.errors, 0), 0);
    return {
      title,
      header: ['server', 'req/s (median)', 'p50 latency', 'p99 latency', 'gatekit / nginx', `target >= ${TARGET}x`],
      rows: [
        [targets[0].name, rps(targets[0]).toFixed(0), ms(median(targets[0].results.map((x) => x.p50Ms))), ms(median(targets[0].results.map((x) => x.p99Ms))), ratio(r), verdict(r >= TARGET)],
        [targets[1].name, rps(targets[1]).toFixed(0), ms(median(targets[1].results.map((x) => x.p50Ms))), ms(median(targets[1].results.map((x) => x.p99Ms))), '', ''],
        ['paired per-round ratio (median)', '', '', '', ratio(paired), verdict(paired >= TARGET)],
      ],
      notes: [
        `${nginxVersion(nginx)}; load generator ${load.name}, ${settings.connections} connections, ${settings.rounds} rounds x ${settings.seconds} s, alternating order.`,
        `per-round req/s: ${targets.map((t) => `${t.name}: ${t.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
        `the load generator shares the ${cpus().length} cores with the servers; load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}.`,
        `errors and non-2xx answers during load: ${errors}.`,
      ],
      passed: r >= TARGET && errors === 0,
      ratios: [{ label: 'static 1 KiB vs Nginx, 2 workers', value: r, target: TARGET }],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
