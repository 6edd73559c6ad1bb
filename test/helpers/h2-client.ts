import { connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders as H2Headers, type OutgoingHttpHeaders } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** Answer is a response as a client saw it: status, headers (no pseudo-fields), body and trailers. */
export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: Record<string, string | string[] | undefined>;
}

/** Ask is one request: method, path, extra headers and an optional body (sent in the given pieces). */
export interface Ask {
  readonly method?: string;
  readonly path: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer | readonly (string | Buffer)[];
}

function pieces(body: Ask['body']): (string | Buffer)[] {
  return body === undefined ? [] : Array.isArray(body) ? [...body] : [body as string | Buffer];
}

/** h2Session opens an HTTP/2 connection (TLS, any certificate, ALPN h2; or cleartext prior knowledge for http:). */
export function h2Session(origin: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = connect(origin, { rejectUnauthorized: false }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** h2Ask makes one request on an HTTP/2 session and reads the whole answer. */
export function h2Ask(session: ClientHttp2Session, a: Ask): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': a.method ?? 'GET', ':path': a.path, ...a.headers }, { endStream: a.body === undefined });
    let headers: H2Headers = {};
    let trailers: H2Headers = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      headers = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('close', () => {
      if (headers[':status'] === undefined) {
        reject(new Error(`stream closed without a response (code ${stream.rstCode})`));
        return;
      }
      const { ':status': status, ...rest } = headers;
      resolve({ status: Number(status), headers: rest as IncomingHttpHeaders, body: Buffer.concat(chunks), trailers: trailers as Answer['trailers'] });
    });
    const parts = pieces(a.body);
    if (parts.length) {
      for (const p of parts) stream.write(p);
      stream.end();
    }
  });
}

/** h1Ask makes one HTTP/1.1 request on a fresh connection (https: with any certificate, no ALPN; or http:). */
export function h1Ask(origin: string, a: Ask): Promise<Answer> {
  const u = new URL(origin);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method: a.method ?? 'GET', path: a.path, headers: a.headers, agent: false, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const trailers: Answer['trailers'] = {};
          for (let i = 0; i < res.rawTrailers.length; i += 2) trailers[res.rawTrailers[i].toLowerCase()] = res.rawTrailers[i + 1];
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    for (const p of pieces(a.body)) req.write(p);
    req.end();
  });
}

/** HeldClient is an HTTP/2 client session over a TCP connection the test holds, to reset it as a crashed client would. */
export interface HeldClient {
  readonly session: ClientHttp2Session;
  readonly socket: Socket;
}

/** heldClient opens an HTTP/2 session over TLS (any certificate) on a TCP socket of its own, which it hands out. */
export function heldClient(origin: string): HeldClient {
  const url = new URL(origin);
  const socket = netConnect(Number(url.port), url.hostname);
  socket.on('error', () => {});
  const session = connect(origin, {
    createConnection: () => tlsConnect({ socket, servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false }),
  });
  session.on('error', () => {});
  return { session, socket };
}

/** getSome opens a GET and resolves once some of its body (not all) has come; the rest is the caller's to read or not. */
export function getSome(session: ClientHttp2Session, path: string): Promise<ClientHttp2Stream> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    stream.on('error', () => {});
    stream.once('data', () => resolve(stream));
    stream.once('close', () => reject(new Error(`${path} closed before its body came`)));
  });
}
