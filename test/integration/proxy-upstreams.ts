import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { generate } from 'selfsigned';

/** TestUpstream is a real HTTP server on 127.0.0.1 port 0 (or a unix socket) that counts its connections. */
export interface TestUpstream {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** connections counts the TCP connections the upstream accepted. */
  readonly connections: number;
  /** requests counts the requests it received. */
  readonly requests: number;
  /** open lists its connections still open. */
  readonly open: Set<Socket>;
  close(): Promise<void>;
}

/** upstream starts a test upstream; `at` is a unix socket path, else 127.0.0.1:0; `tls` serves https. */
export async function upstream(handler: RequestListener, o: { at?: string; tls?: { key: string; cert: string } } = {}): Promise<TestUpstream> {
  const server: Server = o.tls ? createHttpsServer({ key: o.tls.key, cert: o.tls.cert }, handler) : createServer(handler);
  const open = new Set<Socket>();
  let connections = 0;
  let requests = 0;
  server.on(o.tls ? 'secureConnection' : 'connection', (s: Socket) => {
    connections++;
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  server.on('request', () => {
    requests++;
  });
  await new Promise<void>((resolve) => (o.at ? server.listen(o.at, resolve) : server.listen(0, '127.0.0.1', resolve)));
  const port = o.at ? 0 : (server.address() as AddressInfo).port;
  return {
    server,
    port,
    open,
    url: o.at ? `unix:${o.at}` : `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of open) s.destroy();
      }),
  };
}

/** Reply is a whole response as a client saw it. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly trailers: NodeJS.Dict<string>;
}

/** send makes one request on a fresh connection and reads the whole answer (bounded by `ms`). */
export function send(
  port: number,
  path: string,
  o: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer; localAddress?: string; ms?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers, agent: false, localAddress: o.localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), trailers: res.trailers });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no complete answer within ${o.ms ?? 3000}ms`)), o.ms ?? 3000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(o.body);
  });
}

/** waitFor polls `cond` every 10ms until it holds, failing after `ms`. */
export async function waitFor(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** json answers with what the upstream saw: method, url and headers, plus a name. */
export function echo(name: string): RequestListener {
  return (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        name,
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        trailers: req.trailers,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  };
}

let pair: { key: string; cert: string } | undefined;

/** selfSignedPair is a certificate for localhost and 127.0.0.1 (made once per run). */
export function selfSignedPair(): { key: string; cert: string } {
  if (pair) return pair;
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const pems = generate([{ name: 'commonName', value: 'localhost' }], {
    keyPair: keys,
    days: 1,
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  } as Parameters<typeof generate>[1]);
  return (pair = { key: keys.privateKey, cert: pems.cert });
}
