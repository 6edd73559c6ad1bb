import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { encodeParams, RecordReader, RecordType, requestHead } from '../../plugins/fastcgi/protocol.js';
import { repoPath } from '../helpers/paths.js';

/** FASTCGI_FILE is the file FastCGI test configs pretend to be, so ./www is the testdata site. */
export const FASTCGI_FILE = repoPath('plugins', 'fastcgi', 'testdata', 't.gate');

const DIRS = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
const NAMES = ['php-fpm', 'php-fpm8.4', 'php-fpm8.3', 'php-fpm8.2', 'php-fpm8.1', 'php-fpm8.0', 'php-fpm7.4'];

/** PHP_FPM is the php-fpm binary (Debian installs it versioned: /usr/sbin/php-fpm8.2), or undefined when none is installed. */
export const PHP_FPM: string | undefined = (() => {
  for (const n of NAMES) for (const d of DIRS) if (d && statSync(join(d, n), { throwIfNoEntry: false })?.isFile()) return join(d, n);
  return undefined;
})();

/** SKIP_REASON says why FastCGI integration tests skip. */
export const SKIP_REASON = 'php-fpm is not installed (apt-get install php-fpm)';

/** PhpFpm is a php-fpm master the test started, with one static pool on a unix socket in a temp folder. */
export interface PhpFpm {
  readonly socket: string;
  readonly dir: string;
  readonly children: number;
  stop(): Promise<void>;
}

/**
 * startPhpFpm starts php-fpm in the foreground without php.ini (-n), its settings in a
 * config file in a temp folder: `pm = static` with `children` children, errors logged
 * (to FCGI_STDERR) and not displayed. As root it runs the pool as root (-R).
 */
export async function startPhpFpm(children = 2): Promise<PhpFpm> {
  if (!PHP_FPM) throw new Error(SKIP_REASON);
  const dir = mkdtempSync(join(tmpdir(), 'gk-fpm-'));
  const socket = join(dir, 'php.sock');
  const root = process.getuid?.() === 0;
  writeFileSync(
    join(dir, 'php-fpm.conf'),
    [
      '[global]',
      `pid = ${dir}/php-fpm.pid`,
      `error_log = ${dir}/php-fpm.log`,
      'daemonize = no',
      '',
      '[test]',
      `listen = ${socket}`,
      ...(root ? ['user = root', 'group = root'] : []),
      'pm = static',
      `pm.max_children = ${children}`,
      'clear_env = yes',
      'catch_workers_output = no',
      'php_admin_flag[display_errors] = off',
      'php_admin_flag[log_errors] = on',
      'php_admin_value[error_reporting] = E_ALL',
      'php_admin_value[output_buffering] = 4096',
      '',
    ].join('\n'),
  );
  const child = spawn(PHP_FPM, ['-n', '-F', '-y', join(dir, 'php-fpm.conf'), ...(root ? ['-R'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  try {
    await ready(child, socket, () => stderr);
  } catch (e) {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    socket,
    dir,
    children,
    stop: async () => {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** ready waits until php-fpm accepts on its socket (polling every 20 ms, 5 s at most). */
async function ready(child: ChildProcess, socket: string, stderr: () => string): Promise<void> {
  const until = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`php-fpm exited: ${stderr()}`);
    if (await accepts(socket)) return;
    if (Date.now() > until) throw new Error(`php-fpm did not start: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** CountingRelay is a unix socket in front of php-fpm's that counts the connections it accepts. */
export interface CountingRelay {
  readonly socket: string;
  readonly accepted: () => number;
  close(): Promise<void>;
}

/** countingRelay relays connections from a new socket beside `target` to it, counting them. */
export async function countingRelay(target: string): Promise<CountingRelay> {
  const socket = `${target}.relay`;
  let count = 0;
  const live = new Set<Socket>();
  const server: Server = createServer((c) => {
    count++;
    const up = createConnection({ path: target });
    for (const s of [c, up]) {
      live.add(s);
      s.once('close', () => live.delete(s));
      s.on('error', () => {});
    }
    c.pipe(up).pipe(c);
    c.once('close', () => up.destroy());
    up.once('close', () => c.destroy());
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    accepted: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of live) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** fastcgiConfig is a server with the testdata site under /php/ behind `fastcgi ADDRESS { root ./www; OPTIONS }`. */
export function fastcgiConfig(address: string, options = '', extra = ''): string {
  return `server { listen 127.0.0.1:0
    route /php/ { ${extra} fastcgi ${address} { root ./www; ${options} } }
    route = /target { respond 200 "redirect target" }
  }`;
}

/**
 * fcgiRun runs one script through php-fpm directly, as another client of its pool would (one
 * connection, not kept), and resolves with what the script printed to FCGI_STDOUT, head and
 * all; it rejects when the connection stays quiet for `within` ms (waiting for a child).
 */
export function fcgiRun(socket: string, script: string, within: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const params = encodeParams({ SCRIPT_FILENAME: script, REQUEST_METHOD: 'GET', SERVER_PROTOCOL: 'HTTP/1.1', QUERY_STRING: '' });
    const c = createConnection({ path: socket }, () => c.write(requestHead(params, false, Buffer.alloc(0))));
    const reader = new RecordReader();
    const out: Buffer[] = [];
    c.setTimeout(within, () => {
      c.destroy();
      reject(new Error(`php-fpm did not answer within ${within} ms`));
    });
    c.on('data', (chunk: Buffer) => {
      for (const r of reader.push(chunk)) if (r.type === RecordType.Stdout) out.push(Buffer.from(r.content));
    });
    c.on('error', reject);
    c.on('close', () => resolve(Buffer.concat(out).toString()));
  });
}
