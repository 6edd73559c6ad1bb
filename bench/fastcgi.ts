import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { alternateRounds, pickLoadGenerator, type Contender } from './load.js';
import { nginxBin, nginxVersion, startNginx } from './nginx-peer.js';
import { BARE_SERVER, GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './settings.js';

// Scenario `fastcgi`: the same PHP script through gatekit's `fastcgi`, through Nginx's
// fastcgi_pass, and through the least a Node server can do (bench/fastcgi-floor-peer.ts), each
// with 2 worker processes, to one php-fpm pool (pm static, 12 children) on a unix socket.
// Kept connections hold a child each: gatekit lets idle ones go after 1 s, as the floor peer
// does, and each run starts 1.5 s after the last, so every contender finds the pool free. php-fpm and Nginx come from Debian's packages:
//   apt-get update && apt-get install -y php-fpm nginx wrk

const TARGET = 0.8;
const WORKERS = 2;
const CHILDREN = 12;
const GAP_MS = 1500;
const FLOOR_PEER = join(dirname(BARE_SERVER), 'fastcgi-floor-peer.js');
const SCRIPT = "<?php\nheader('Content-Type: text/plain');\necho 'hello from php ', $_SERVER['REQUEST_METHOD'], ' ', $_SERVER['SCRIPT_NAME'], \"\\n\";\n";

function findBin(names: readonly string[]): string | undefined {
  for (const n of names) for (const d of ['/usr/sbin', '/usr/bin', '/usr/local/sbin']) if (existsSync(join(d, n))) return join(d, n);
  return undefined;
}

function version(bin: string): string {
  try {
    return execFileSync(bin, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0];
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? '').trim();
  }
}

/** startFpm starts php-fpm in the foreground with one static pool on `socket` (as root: -R, pool user root). */
async function startFpm(bin: string, dir: string, socket: string): Promise<Child> {
  const root = process.getuid?.() === 0;
  writeFileSync(
    join(dir, 'php-fpm.conf'),
    [
      '[global]',
      `pid = ${dir}/php-fpm.pid`,
      `error_log = ${dir}/php-fpm.log`,
      'daemonize = no',
      '',
      '[bench]',
      `listen = ${socket}`,
      'listen.mode = 0666',
      'listen.backlog = 4096',
      ...(root ? ['user = root', 'group = root'] : []),
      'pm = static',
      `pm.max_children = ${CHILDREN}`,
      'clear_env = yes',
      '',
    ].join('\n'),
  );
  const fpm = startChild('php-fpm', bin, ['-F', '-y', join(dir, 'php-fpm.conf'), ...(root ? ['-R'] : [])]);
  for (let i = 0; i < 250 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
  if (!existsSync(socket)) throw new Error(`php-fpm did not start: ${fpm.output()}`);
  return fpm;
}

/**
 * runFastcgi measures requests per second for one tiny PHP script through gatekit (`fastcgi`,
 * workers 2, default keepalive 4 connections per worker) and Nginx (fastcgi_pass, worker_processes 2,
 * its default of one connection per request) to the same php-fpm pool, in alternating
 * rounds. Contender: gatekit at least 0.8x Nginx.
 */
export async function runFastcgi(): Promise<Section> {
  const title = `fastcgi: a PHP script through gatekit vs Nginx fastcgi_pass, ${WORKERS} workers each, one php-fpm pool`;
  const fpmBin = findBin(['php-fpm', 'php-fpm8.4', 'php-fpm8.3', 'php-fpm8.2', 'php-fpm8.1']);
  const nginx = nginxBin();
  if (!fpmBin || !nginx) {
    return {
      title,
      header: ['result'],
      rows: [[`skipped: ${!fpmBin ? 'php-fpm' : 'nginx'} is not installed (apt-get install -y php-fpm nginx)`]],
      notes: [],
      passed: true,
    };
  }
  const load = pickLoadGenerator();
  const dir = tempDir('gatekit-bench-fastcgi-');
  const started: Child[] = [];
  try {
    const www = join(dir, 'www');
    mkdirSync(www);
    writeFileSync(join(www, 'hello.php'), SCRIPT);
    const socket = join(dir, 'php.sock');
    started.push(await startFpm(fpmBin, dir, socket));
    const [gp, np, fp] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'gate.gate'),
      `global { workers ${WORKERS} }\nserver {\n    listen 127.0.0.1:${gp}\n` +
        `    route = / { respond "ready" }\n    fastcgi unix:${socket} { root ./www; keepalive_timeout 1s }\n}\n`,
    );
    const gk = startChild('gatekit run', process.execPath, [GATEKIT_BIN, 'run', join(dir, 'gate.gate')]);
    started.push(gk);
    await waitFor200(gp, gk, 15_000, 10);
    started.push(
      await startNginx(nginx, dir, {
        workers: WORKERS,
        port: np,
        http: [
          `server { listen 127.0.0.1:${np}; root ${www};`,
          '  location = / { return 200 "ready"; }',
          '  location ~ \\.php(/|$) {',
          '    fastcgi_split_path_info ^(.+?\\.php)(/.*)$;',
          '    include /etc/nginx/fastcgi_params;',
          '    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;',
          '    fastcgi_param PATH_INFO $fastcgi_path_info;',
          `    fastcgi_pass unix:${socket};`,
          '  }',
          '}',
        ],
      }),
    );
    const floor = startChild('fastcgi floor peer', process.execPath, [FLOOR_PEER, String(fp), String(WORKERS), socket, www]);
    started.push(floor);
    await waitFor200(fp, floor, 15_000, 10);
    const targets: Contender[] = [
      { name: `gatekit fastcgi, workers ${WORKERS}`, url: `http://127.0.0.1:${gp}/hello.php`, results: [] },
      { name: `nginx fastcgi_pass, worker_processes ${WORKERS}`, url: `http://127.0.0.1:${np}/hello.php`, results: [] },
      { name: `least Node FastCGI client (floor peer), ${WORKERS} processes`, url: `http://127.0.0.1:${fp}/hello.php`, results: [] },
    ];
    for (const t of targets) {
      const res = await fetch(t.url!);
      const body = await res.text();
      if (res.status !== 200 || body !== 'hello from php GET /hello.php\n') throw new Error(`${t.name} answered ${res.status} ${JSON.stringify(body)}`);
    }
    await alternateRounds(load, targets, settings, '', GAP_MS);
    const rps = (t: Contender): number => median(t.results.map((x) => x.rps));
    const row = (t: Contender): string[] => [t.name, rps(t).toFixed(0), ms(median(t.results.map((x) => x.p50Ms))), ms(median(t.results.map((x) => x.p99Ms)))];
    const r = rps(targets[0]) / rps(targets[1]);
    const paired = median(targets[0].results.map((x, i) => x.rps / targets[1].results[i].rps));
    const errors = targets.reduce((n, t) => n + t.results.reduce((m, x) => m + x.errors, 0), 0);
    return {
      title,
      header: ['server', 'req/s (median)', 'p50 latency', 'p99 latency', 'gatekit / this', `target >= ${TARGET}x nginx`],
      rows: [
        [...row(targets[0]), '', ''],
        [...row(targets[1]), ratio(r), verdict(r >= TARGET)],
        ['gatekit / nginx, paired per-round ratio (median)', '', '', '', ratio(paired), verdict(paired >= TARGET)],
        [...row(targets[2]), ratio(rps(targets[0]) / rps(targets[2])), ''],
      ],
      notes: [
        `${nginxVersion(nginx)}; ${version(fpmBin)}; pool: pm static, ${CHILDREN} children, unix socket; script: ${SCRIPT.length} bytes of PHP printing one line.`,
        `gatekit holds up to 4 connections per worker (FCGI_KEEP_CONN; further requests wait in gatekit for one), as the floor peer does; Nginx opens one per request (its default without upstream keepalive).`,
        `the floor peer answers from PHP's whole output with no routing, streaming, timeouts or error handling: no FastCGI client on Node does less per request. Nginx is ${ratio(rps(targets[1]) / rps(targets[2]))} that floor; gatekit reaches ${ratio(rps(targets[0]) / rps(targets[2]))} of it.`,
        `load generator ${load.name}, ${settings.connections} connections, ${settings.rounds} rounds x ${settings.seconds} s, alternating order.`,
        `per-round req/s: ${targets.map((t) => `${t.name}: ${t.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
        `the load generator and php-fpm share the ${cpus().length} cores with the servers; load average at the end: ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')}.`,
        `errors and non-2xx answers during load: ${errors}.`,
      ],
      passed: r >= TARGET && errors === 0,
      ratios: [{ label: 'fastcgi PHP vs Nginx fastcgi_pass, 2 workers', value: r, target: TARGET }],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
