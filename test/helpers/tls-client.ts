import { request, type Agent } from 'node:https';
import type { TLSSocket } from 'node:tls';

/** Verified is an HTTPS answer over a connection that verified the server's certificate. */
export interface Verified {
  readonly status: number;
  readonly body: string;
  /** serial is the serial number of the certificate the server presented. */
  readonly serial: string;
}

/**
 * httpsGet asks https://NAME:PORT/PATH of 127.0.0.1, verifying the certificate against `ca`
 * (as `curl --cacert ca --resolve NAME:PORT:127.0.0.1`, no -k); `ca` undefined skips the check.
 */
export function httpsGet(port: number, name: string, ca: string | undefined, o: { path?: string; agent?: Agent } = {}): Promise<Verified> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: o.path ?? '/',
        servername: name,
        headers: { host: `${name}:${port}` },
        ...(ca === undefined ? { rejectUnauthorized: false } : { ca }),
        ...(o.agent ? { agent: o.agent } : { agent: false }),
        timeout: 5000,
      },
      (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

const WATCHERS = new WeakMap<string[], Set<(line: string) => void>>();

/** watched makes a test gate's log array tell its watchers about each line pushed. */
function watched(lines: string[]): Set<(line: string) => void> {
  let set = WATCHERS.get(lines);
  if (set) return set;
  WATCHERS.set(lines, (set = new Set()));
  const push = lines.push.bind(lines);
  const all = set;
  lines.push = (...items: string[]): number => {
    const n = push(...items);
    for (const l of items) for (const w of [...all]) w(l);
    return n;
  };
  return set;
}

/** waitForLine resolves with the first of `lines` (a test gate's log, growing) that matches `re`; it rejects after `ms`. */
export function waitForLine(lines: string[], re: RegExp, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const hit = lines.find((l) => re.test(l));
    if (hit) {
      resolve(hit);
      return;
    }
    const set = watched(lines);
    const timer = setTimeout(() => {
      set.delete(w);
      reject(new Error(`timed out waiting for ${re}:\n${lines.join('\n')}`));
    }, ms);
    const w = (line: string): void => {
      if (re.test(line)) {
        clearTimeout(timer);
        set.delete(w);
        resolve(line);
      }
    };
    set.add(w);
  });
}

/** countLines counts the lines of a log that match `re`. */
export function countLines(lines: readonly string[], re: RegExp): number {
  return lines.filter((l) => re.test(l)).length;
}

/** waitForCount resolves once at least `n` lines of a test gate's log match `re`; it rejects after `ms`. */
export function waitForCount(lines: string[], re: RegExp, n: number, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (countLines(lines, re) >= n) {
      resolve();
      return;
    }
    const set = watched(lines);
    const timer = setTimeout(() => {
      set.delete(w);
      reject(new Error(`timed out waiting for ${n} lines matching ${re}:\n${lines.join('\n')}`));
    }, ms);
    const w = (): void => {
      if (countLines(lines, re) >= n) {
        clearTimeout(timer);
        set.delete(w);
        resolve();
      }
    };
    set.add(w);
  });
}
