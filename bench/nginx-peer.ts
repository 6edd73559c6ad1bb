import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, waitFor200, type Child } from './procs.js';

// Nginx as the peer of several scenarios, from Debian's packages:
//   apt-get update && apt-get install -y nginx

/** nginxBin is the nginx binary, or undefined when it is not installed. */
export function nginxBin(): string | undefined {
  return ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
}

/** nginxVersion reads `nginx -v` (which prints to stderr): 'nginx 1.22.1'. */
export function nginxVersion(bin: string): string {
  const v = /nginx\/([\d.]+)/.exec(spawnSync(bin, ['-v'], { encoding: 'utf8' }).stderr ?? '')?.[1];
  return v ? `nginx ${v}` : 'nginx';
}

/**
 * startNginx writes nginx.conf in `dir` (pid, logs and temp files inside it, `workers`
 * processes, keep-alive without a request cap, an access log only in `accessLog`) with
 * `http` as the http block's further lines, starts nginx in the foreground, and waits until
 * `port` answers 200 at `path`; `children`, when given, gets nginx as soon as it is started.
 */
export async function startNginx(
  bin: string,
  dir: string,
  o: { workers: number; http: readonly string[]; port: number; path?: string; accessLog?: string; children?: Child[] },
): Promise<Child> {
  const tmp = join(dir, 'nginx-tmp');
  mkdirSync(tmp, { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      `worker_processes ${o.workers};`,
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/nginx-error.log;`,
      'events { worker_connections 1024; }',
      'http {',
      o.accessLog ? `  access_log ${o.accessLog} combined;` : '  access_log off;',
      '  keepalive_timeout 75s;',
      '  keepalive_requests 1000000;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${tmp};`),
      ...o.http.map((l) => `  ${l}`),
      '}',
      '',
    ].join('\n'),
  );
  const child = startChild('nginx', bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
  o.children?.push(child); // to be stopped even if it never answers
  await waitFor200(o.port, child, 15_000, 10, o.path);
  return child;
}
