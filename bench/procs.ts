import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** Child is a process the benchmark started; it is stopped on exit, SIGINT and SIGTERM. */
export interface Child {
  readonly proc: ChildProcess;
  readonly name: string;
  /** output is the tail of the child's stdout and stderr, for error messages. */
  output(): string;
  /** exited resolves with the exit code (or signal) once the child is gone. */
  readonly exited: Promise<number | string>;
  /** stop sends TERM, then KILL after `graceMs`; it resolves once the child is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Child>();
/** peaks holds the peak resident memory of each child tree measured when it was stopped. */
const peaks: { name: string; kib: number }[] = [];

/** treeOf lists a pid and all its descendants (workers, pools), from /proc. */
function treeOf(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(parents.get(out[i]) ?? []));
  return out;
}

/** peakRssKiB adds up VmHWM (peak resident set) over a process tree; 0 where /proc is missing. */
function peakRssKiB(pid: number): number {
  let total = 0;
  for (const p of treeOf(pid)) {
    try {
      total += Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return total;
}

/** rssKiB adds up VmRSS (resident set now) over a process tree; 0 where /proc is missing. */
export function rssKiB(pid: number): number {
  let total = 0;
  for (const p of treeOf(pid)) {
    try {
      total += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return total;
}

/** takePeaks returns (and forgets) the peak memory of the children stopped since the last call. */
export function takePeaks(): { name: string; kib: number }[] {
  return peaks.splice(0);
}
const dirs = new Set<string>();
let hooked = false;

function killAllNow(): void {
  for (const c of live) {
    try {
      c.proc.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
  for (const d of dirs) removeTempDir(d);
}

/** tempDir makes a temporary folder that is removed at exit (or earlier by removeTempDir). */
export function tempDir(prefix = 'gatekit-bench-'): string {
  hookExit();
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

/** keepTempDir leaves a folder in place at exit (a profile the user should open). */
export function keepTempDir(d: string): void {
  dirs.delete(d);
}

/** removeTempDir removes a folder made by tempDir. */
export function removeTempDir(d: string): void {
  dirs.delete(d);
  rmSync(d, { recursive: true, force: true });
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}: stopping ${live.size} child process(es)\n`);
      void stopAll().finally(() => process.exit(130)); // the default grace: gatekit needs it to stop its Python pool and remove its sockets
    });
  }
}

/** startChild spawns a command (no shell) and tracks it so that it never outlives the benchmark. */
export function startChild(name: string, cmd: string, args: readonly string[], o: SpawnOptions = {}): Child {
  hookExit();
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...o });
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString()).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? -1);
    });
    proc.once('error', (e) => {
      live.delete(child);
      tail += `\nspawn error: ${e.message}`;
      resolve(-1);
    });
  });
  const child: Child = {
    proc,
    name,
    exited,
    output: () => tail,
    stop: async (graceMs = 3000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      if (proc.pid && process.platform === 'linux') peaks.push({ name, kib: peakRssKiB(proc.pid) });
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(child);
  return child;
}

/** stopAll stops every child still running. */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...live].map((c) => c.stop(graceMs)));
}

/** freePort asks the OS for a free port on 127.0.0.1 (free when asked: bind it soon). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** getStatus sends one GET to 127.0.0.1 and resolves with the status, or 0 on a connection error. */
export function getStatus(port: number, path = '/', timeoutMs = 500): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
    req.end();
  });
}

/**
 * waitFor200 polls until the server answers 200, the child dies, or `deadlineMs` passes;
 * it resolves with the time (performance.now()) of the first 200.
 */
export async function waitFor200(port: number, child: Child, deadlineMs = 10_000, everyMs = 2, path = '/'): Promise<number> {
  const until = performance.now() + deadlineMs;
  let dead = false;
  void child.exited.then(() => {
    dead = true;
  });
  while (performance.now() < until) {
    if (dead) throw new Error(`${child.name} exited before answering:\n${child.output()}`);
    if ((await getStatus(port, path)) === 200) return performance.now();
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${child.name} did not answer 200 on 127.0.0.1:${port} within ${deadlineMs} ms:\n${child.output()}`);
}

/** unlessExits is `work`, or an error with the child's output if the child exits first (a backend dying while its front waits). */
export function unlessExits<T>(child: Child, work: Promise<T>): Promise<T> {
  const died = child.exited.then((code): never => {
    throw new Error(`${child.name} exited (${code}):\n${child.output()}`);
  });
  died.catch(() => undefined); // once `work` has won, the child's exit at the end is nobody's error
  return Promise.race([work, died]);
}

/** waitForFile waits until `file` exists (a unix socket being bound), the child dies, or `deadlineMs` passes. */
export async function waitForFile(file: string, child: Child, deadlineMs = 20_000): Promise<void> {
  const until = performance.now() + deadlineMs;
  while (!existsSync(file)) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) throw new Error(`${child.name} exited before making ${file}:\n${child.output()}`);
    if (performance.now() > until) throw new Error(`${child.name} made no ${file} within ${deadlineMs} ms:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * cpuMs reads a process's user + system CPU time from /proc (Linux; clock ticks of 10 ms),
 * or undefined elsewhere. CPU per request is robust to neighbours stealing the machine,
 * which req/s on a busy 2-core box is not.
 */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // fields 14 utime and 15 stime
  } catch {
    return undefined;
  }
}

/**
 * programOf is the file name of a process's executable ('node', 'python3.11', 'nginx'), or ''
 * once it is gone. Not /proc/PID/comm: Node 24 names its main thread, and so the process, 'MainThread'.
 */
function programOf(pid: number): string {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return '';
  }
}

/**
 * treeCpuMs is cpuMs summed over a process and its descendants (a master and its workers),
 * or over those whose executable's name matches `only` (/^node$/: gatekit's own processes, not its Python pool).
 */
export function treeCpuMs(pid: number, only?: RegExp): number | undefined {
  let total: number | undefined;
  for (const p of treeOf(pid)) {
    if (only && !only.test(programOf(p))) continue;
    const ms = cpuMs(p);
    if (ms !== undefined) total = (total ?? 0) + ms;
  }
  return total;
}

/** rawResponse sends one GET over a fresh socket and returns the whole response, Date removed (to compare peers byte for byte). */
export function rawResponse(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from 127.0.0.1:${port}`));
    }, 2000);
    sock.on('data', (b) => {
      buf += b.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(buf);
      if (end >= 0 && len && buf.length >= end + 4 + Number(len[1])) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf.replace(/^Date: .*\r\n/im, ''));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}
