import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, type Child } from './procs.js';

// Caddy as a peer, from Debian's packages: apt-get update && apt-get install -y caddy

/** caddyBin is the caddy binary, or undefined when it is not installed. */
export function caddyBin(): string | undefined {
  return ['/usr/bin/caddy', '/usr/local/bin/caddy'].find((p) => existsSync(p));
}

/** caddyVersion reads `caddy version`: 'caddy 2.6.2'. */
export function caddyVersion(bin: string): string {
  const v = /v?(\d+\.\d+\.\d+)/.exec(spawnSync(bin, ['version'], { encoding: 'utf8' }).stdout ?? '')?.[1];
  return v ? `caddy ${v}` : 'caddy';
}

/**
 * startCaddy writes a Caddyfile in `dir` that serves `site` over TLS on 127.0.0.1:`port` with
 * the given certificate (and a fixed `respond` text at one path; no admin endpoint, no automatic HTTPS redirects, no access log) and
 * starts caddy with GOMAXPROCS=`procs`, its data and config under `dir`. The caller waits for it.
 */
export function startCaddy(
  bin: string,
  dir: string,
  o: { port: number; site: string; cert: string; key: string; procs: number; respond?: { path: string; text: string } },
): Child {
  const file = join(dir, 'Caddyfile');
  writeFileSync(
    file,
    [
      '{',
      '  admin off',
      '  auto_https disable_redirects',
      '}',
      `https://127.0.0.1:${o.port} {`,
      `  tls ${o.cert} ${o.key}`,
      ...(o.respond ? [`  respond ${o.respond.path} "${o.respond.text}" 200`] : []),
      `  root * ${o.site}`,
      '  file_server',
      '}',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, GOMAXPROCS: String(o.procs), XDG_DATA_HOME: join(dir, 'caddy-data'), XDG_CONFIG_HOME: join(dir, 'caddy-config'), HOME: dir };
  return startChild('caddy', bin, ['run', '--config', file, '--adapter', 'caddyfile'], { env });
}
