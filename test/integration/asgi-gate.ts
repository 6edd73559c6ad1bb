import { join } from 'node:path';
import { WebSocket } from 'ws';
import { repoPath } from '../helpers/paths.js';

export { hasPython3, hasVenv, VENV_PYTHON, waitForLog } from './wsgi-gate.js';

/** ASGI_TESTDATA is the folder of the stdlib ASGI test apps. */
export const ASGI_TESTDATA = repoPath('plugins', 'asgi', 'testdata');

/** ASGI_FILE is the config file name the asgi tests pretend to have (paths resolve from testdata). */
export const ASGI_FILE = join(ASGI_TESTDATA, 'site.gate');

/** WsClient is a connected WebSocket with its received messages queued. */
export interface WsClient {
  readonly ws: WebSocket;
  /** next resolves with the next message (text as string, binary as Buffer), within 5 s. */
  next(): Promise<string | Buffer>;
  /** closed resolves with the close code and reason, within 5 s. */
  closed(): Promise<{ code: number; reason: string }>;
}

/** openWs connects (rejecting with the HTTP status on a refused handshake) and queues messages. */
export function openWs(url: string, protocols: string[] = []): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    const queue: (string | Buffer)[] = [];
    const waiters: ((m: string | Buffer) => void)[] = [];
    let close: Promise<{ code: number; reason: string }> | undefined;
    const closedP = new Promise<{ code: number; reason: string }>((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
    ws.on('message', (data: Buffer, binary: boolean) => {
      const m = binary ? data : data.toString('utf8');
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    });
    ws.on('unexpected-response', (_req, res) => {
      reject(new Error(`handshake refused: ${res.statusCode}`));
      res.resume();
      ws.terminate();
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        next: () => bounded(queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r)), 'a message'),
        closed: () => (close ??= bounded(closedP, 'the close')),
      }),
    );
  });
}

function bounded<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(`no ${what} within ${ms}ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}
