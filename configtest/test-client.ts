import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TestRequest } from './expectations.js';
import { socketPair } from './socket-pair.js';

/** ANSWER_WAIT bounds the wait for an answer: a handler that never answers fails its expectation, not the run. */
const ANSWER_WAIT = 10_000;

/** MAX_BODY is how much of an answer's body a test keeps to check (a test site's pages are small). */
const MAX_BODY = 1 << 20;

/** Reply is what a client got back: status, headers and (the first MAX_BODY bytes of) the body. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * sendOver sends one request to `server` over a fresh in-memory connection, through Node's
 * HTTP client, exactly as written (headers in order, no Host unless given); `opened` hears the
 * server's end of the connection before the request goes out.
 */
export function sendOver(server: Server, r: TestRequest, opened: (socket: Duplex) => void): Promise<Reply> {
  const [client, end] = socketPair();
  opened(end);
  server.emit('connection', end);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method: r.method,
        path: r.target,
        setHost: false,
        createConnection: () => client as never,
        headers: [...r.headers.flat(), 'connection', 'close'],
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY) {
            chunks.push(c);
            size += c.length;
          }
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).subarray(0, MAX_BODY) });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${ANSWER_WAIT / 1000}s`)), ANSWER_WAIT);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(r.body);
  });
}
