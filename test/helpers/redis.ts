import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

/** REDIS_SERVER is Debian's redis-server, or undefined when it is not installed (tests then skip). */
export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => spawnSync(p, ['--version']).status === 0);

/** TestRedis is a redis-server a test started on a unix socket in its own folder. */
export interface TestRedis {
  /** socket is the unix socket's path; url the `store` URL naming it. */
  readonly socket: string;
  readonly url: string;
  /** kill stops the server at once (SIGKILL: no save, clients see the connection drop). */
  kill(): Promise<void>;
  /** start (re)starts it on the same socket, empty; resolves once it accepts connections. */
  start(): Promise<void>;
  /** pause and resume stop and continue the process (a store that answers nothing). */
  pause(): void;
  resume(): void;
}

/** startRedis starts a redis-server with no persistence, listening only on `dir`/redis.sock (and what `extra` options add). */
export async function startRedis(dir: string, extra: readonly string[] = []): Promise<TestRedis> {
  const socket = join(dir, 'redis.sock');
  let child: ChildProcess | undefined;
  const r: TestRedis = {
    socket,
    url: `unix:${socket}`,
    async kill() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGCONT');
      c.kill('SIGKILL');
      await once(c, 'exit');
    },
    async start() {
      const c = (child = spawn(
        REDIS_SERVER!,
        ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ));
      await readyOf(c);
    },
    pause: () => {
      child?.kill('SIGSTOP');
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
  };
  await r.start();
  return r;
}

/** readyOf waits (at most 5 s) for redis-server to say it accepts connections. */
function readyOf(c: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`redis-server did not start:\n${out}`));
    }, 5000);
    c.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (/ready to accept connections/i.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    c.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited ${code}:\n${out}`));
    });
  });
}
