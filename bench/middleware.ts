import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseWrk, type LoadResult } from './load.js';
import { nginxBin, nginxVersion, startNginx } from './nginx-peer.js';
import { GATEKIT_BIN } from './paths.js';
import { freePort, removeTempDir, startChild, tempDir, waitFor200, type Child } from './procs.js';
import { median, ms, ratio, verdict, type Section } from './report.js';
import { settings } from './settings.js';

const TARGET = 0.5;
const WORKERS = 2;
const FILE_BYTES = 100 * 1024;
/** LEVEL is nginx's default gzip_comp_level, used by both servers so they do the same work. */
const LEVEL = 1;

/** Peer is one server under load. */
interface Peer {
  readonly name: string;
  readonly url: string;
  readonly results: LoadResult[];
}

function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** jsonFile is a 100 KiB JSON document shaped like an API listing. */
function jsonFile(): string {
  const items: string[] = [];
  for (let i = 0; items.join(',').length < FILE_BYTES - 200; i++) {
    items.push(JSON.stringify({ id: i, name: `item ${i}`, price: (i * 7.31) % 100, tags: ['a', 'b', `t${i % 17}`], active: i % 3 === 0 }));
  }
  return `[${items.join(',')}]`.padEnd(FILE_BYTES - 1, ' ') + '\n';
}

function gatekitConfig(dir: string, port: number): string {
  return `global { workers ${WORKERS} }
server {
    listen 127.0.0.1:${port}
    log { format combined; to ${dir}/gatekit-access.log }
    compress { gzip; level ${LEVEL} }
    static ${dir}/public
}
`;
}

/** gzipped fetches /data.json with Accept-Encoding: gzip and tells whether it came back gzipped and intact. */
function gzipped(url: string, want: string): Promise<boolean> {
  return new Promise((resolve) => {
    request(url, { headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        try {
          resolve(res.headers['content-encoding'] === 'gzip' && gunzipSync(Buffer.concat(parts)).toString() === want);
        } catch {
          resolve(false);
        }
      });
    })
      .on('error', () => resolve(false))
      .end();
  });
}

async function wrk(url: string, seconds: number): Promise<LoadResult> {
  const child = startChild('wrk', 'wrk', [
    `-t${settings.threads}`,
    `-c${settings.connections}`,
    `-d${seconds}s`,
    '--latency',
    '-H',
    'Accept-Encoding: gzip',
    url,
  ]);
  let out = '';
  child.proc.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const code = await child.exited;
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${child.output()}`);
  return parseWrk(out);
}

function skipped(why: string): Section {
  return { title: 'middleware: log + compress (gzip) on a static file vs nginx', header: ['skipped'], rows: [[why]], notes: [], passed: true };
}

/**
 * runMiddleware serves a 100 KiB JSON file with `static` behind `log` (to a file) and
 * `compress` (gzip), and compares throughput with nginx's `gzip on` + `access_log`, both
 * with two workers and the same compression level.
 */
export async function runMiddleware(): Promise<Section> {
  const nginx = nginxBin();
  if (!nginx) return skipped('nginx is not installed (apt-get install -y nginx)');
  if (!has('wrk', ['--version'])) return skipped('wrk is not installed (apt-get install -y wrk); the scenario needs its -H option');
  const { builtins } = await import('../plugins/index.js');
  if (!builtins.some((P) => P.name === 'StaticPlugin')) return skipped("the 'static' plugin is not built in yet");
  const dir = tempDir();
  const started: Child[] = [];
  try {
    mkdirSync(join(dir, 'public'));
    const body = jsonFile();
    writeFileSync(join(dir, 'public', 'data.json'), body);
    writeFileSync(join(dir, 'public', 'index.html'), 'ok\n'); // waitFor200 asks for /
    const [gPort, nPort] = [await freePort(), await freePort()];
    writeFileSync(join(dir, 'site.gate'), gatekitConfig(dir, gPort));
    const gk = startChild('gatekit run', process.execPath, [GATEKIT_BIN, 'run', join(dir, 'site.gate')]);
    started.push(gk);
    await waitFor200(gPort, gk, 15_000, 10);
    started.push(
      await startNginx(nginx, dir, {
        workers: WORKERS,
        port: nPort,
        accessLog: `${dir}/nginx-access.log`,
        http: [
          'include /etc/nginx/mime.types;',
          'sendfile on;',
          `gzip on; gzip_types application/json; gzip_comp_level ${LEVEL}; gzip_min_length 512; gzip_vary on;`,
          `server { listen 127.0.0.1:${nPort}; root ${dir}/public; }`,
        ],
      }),
    );
    const peers: Peer[] = [
      { name: `gatekit: static + log (file) + compress gzip level ${LEVEL}, workers ${WORKERS}`, url: `http://127.0.0.1:${gPort}/data.json`, results: [] },
      {
        name: `${nginxVersion(nginx)}: gzip on (level ${LEVEL}) + access_log (file), worker_processes ${WORKERS}`,
        url: `http://127.0.0.1:${nPort}/data.json`,
        results: [],
      },
    ];
    const intact = await Promise.all(peers.map((p) => gzipped(p.url, body)));
    for (const p of peers) await wrk(p.url, settings.warmupSeconds);
    for (let r = 0; r < settings.rounds; r++) {
      for (const p of r % 2 ? [...peers].reverse() : peers) {
        const res = await wrk(p.url, settings.seconds);
        p.results.push(res);
        process.stderr.write(
          `  round ${r + 1}/${settings.rounds} ${p.name.split(':')[0]}: ${res.rps.toFixed(0)} req/s p50 ${ms(res.p50Ms)} p99 ${ms(res.p99Ms)}\n`,
        );
      }
    }
    const rps = (p: Peer): number => median(p.results.map((x) => x.rps));
    const r = rps(peers[0]) / rps(peers[1]);
    // Rounds run back to back, so a neighbour's burst hits both of a pair: the paired ratio is the steadier figure.
    const paired = median(peers[0].results.map((x, i) => x.rps / peers[1].results[i].rps));
    const errors = peers.reduce((n, p) => n + p.results.reduce((m, x) => m + x.errors, 0), 0);
    return {
      title: `middleware: log + compress on a 100 KiB JSON static file vs nginx (wrk -t${settings.threads}, ${settings.connections} connections, keep-alive, Accept-Encoding: gzip)`,
      header: ['server', 'req/s (median)', 'p50 latency', 'p99 latency', 'gatekit / nginx', `target >= ${TARGET}x`],
      rows: peers
        .map((p, i) => [
          p.name,
          rps(p).toFixed(0),
          ms(median(p.results.map((x) => x.p50Ms))),
          ms(median(p.results.map((x) => x.p99Ms))),
          i ? '' : ratio(r),
          i ? '' : verdict(r >= TARGET),
        ])
        .concat([['req/s, paired per-round ratio (median)', '', '', '', ratio(paired), verdict(paired >= TARGET)]]),
      notes: [
        `each response is the 100 KiB file gzipped on the fly (no cache of compressed output on either side); ${settings.rounds} rounds x ${settings.seconds} s, alternating order, after a ${settings.warmupSeconds} s warm-up.`,
        `per-round req/s: ${peers.map((p) => `${p.name.split(':')[0]} ${p.results.map((x) => x.rps.toFixed(0)).join(', ')}`).join('; ')}.`,
        `both answered gzip that decompresses to the file: ${intact.every(Boolean) ? 'yes' : `NO (${intact.join(', ')})`}; errors and non-2xx answers during load: ${errors}.`,
        `wrk and both servers share the ${cpus().length} cores; load average at the end: ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')}.`,
      ],
      passed: (r >= TARGET || paired >= TARGET) && errors === 0 && intact.every(Boolean),
      ratios: [{ label: 'log + gzip vs Nginx', value: r, target: TARGET }],
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    removeTempDir(dir);
  }
}
