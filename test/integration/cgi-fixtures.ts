import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';
import { repoPath } from '../helpers/paths.js';

/** CGI_FILE is the file CGI test configs pretend to be, so ./cgi-bin is the testdata folder. */
export const CGI_FILE = repoPath('plugins', 'cgi', 'testdata', 't.gate');
/** CGI_DIR is the testdata scripts' folder. */
export const CGI_DIR = repoPath('plugins', 'cgi', 'testdata', 'cgi-bin');

/** HAS_PYTHON tells whether python3 is on PATH (tests of the .py interpreter mapping skip without it). */
export const HAS_PYTHON = (process.env.PATH ?? '').split(delimiter).some((d) => d && statSync(join(d, 'python3'), { throwIfNoEntry: false })?.isFile());

/** SPAWNERS are the ways of starting scripts the suites run under (the helper needs python3). */
const SPAWNERS = HAS_PYTHON ? ['helper', 'fork'] : ['fork'];
let spawner = 'auto';

/**
 * describeSpawners declares a suite once per spawner: cgiConfig() inside it starts
 * scripts that way.
 */
export function describeSpawners(title: string, body: () => void): void {
  for (const s of SPAWNERS) {
    describe(`${title} (spawner ${s})`, () => {
      before(() => {
        spawner = s;
      });
      after(() => {
        spawner = 'auto';
      });
      body();
    });
  }
}

/** cgiConfig is a server with the testdata scripts under /cgi-bin/ and `options` inside the cgi block. */
export function cgiConfig(options = '', extra = ''): string {
  return `server { listen 127.0.0.1:0
    route /cgi-bin/ { ${extra} cgi ./cgi-bin { ${spawner === 'auto' ? '' : `spawner ${spawner};`} ${HAS_PYTHON ? 'interpreter .py python3;' : ''} ${options} } }
  }`;
}

/** parseEnv reads env(1) output (NAME=VALUE lines) into a record. */
export function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** processGone tells whether a pid no longer runs (gone, or a zombie nobody reaped yet). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** waitUntil polls `test` every 10 ms until it holds or `ms` pass; it returns whether it held. */
export async function waitUntil(test: () => boolean, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!test()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** logValue finds the first log line matching `re` and returns its first group (waiting up to `ms`). */
export async function logValue(logs: readonly string[], re: RegExp, ms = 2000): Promise<string | undefined> {
  let found: string | undefined;
  await waitUntil(() => {
    for (const l of logs) {
      const m = re.exec(l);
      if (m) {
        found = m[1];
        return true;
      }
    }
    return false;
  }, ms);
  return found;
}

/** OpenRequest is a request whose body the test sends piece by piece. */
export interface OpenRequest {
  /** response resolves with the status and the whole body. */
  readonly response: Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>;
  /** firstData resolves with the status and the first body bytes, as soon as they arrive. */
  readonly firstData: Promise<{ status: number; text: string }>;
  write(s: string): void;
  end(s?: string): void;
  abort(): void;
}

/** openRequest starts a chunked request to `path` and leaves its body open. */
export function openRequest(port: number, path: string, method = 'POST'): OpenRequest {
  const req = request({ host: '127.0.0.1', port, path, method, agent: false, headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' } });
  let resolveFirst!: (v: { status: number; text: string }) => void;
  const firstData = new Promise<{ status: number; text: string }>((r) => {
    resolveFirst = r;
  });
  const response = new Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        if (!body) resolveFirst({ status: res.statusCode ?? 0, text: s });
        body += s;
      });
      res.on('end', () => {
        resolveFirst({ status: res.statusCode ?? 0, text: body });
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  response.catch(() => {});
  req.flushHeaders();
  return { response, firstData, write: (s) => req.write(s), end: (s) => req.end(s), abort: () => req.destroy() };
}
