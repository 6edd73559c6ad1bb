import cluster from 'node:cluster';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContext, type SecureContextOptions, type SecureVersion, type TLSSocket } from 'node:tls';
import type { Address } from '../dsl/schema.js';
import type { GlobalSettings } from './config.js';
import { alpnSelect, challengeContext, type AlpnChoice, type TlsAlpn01 } from './acme-challenge.js';
import { connectionBudget } from './connection-budget.js';
import { asksForH2c, upgradeH2c } from './h2c-upgrade.js';
import { http2Server, routeAlpn, routePreface, type Http2Limits } from './http2-listener.js';
import { forgetConnection, trackConnections, trackSessions } from './listener-drain.js';
import { takeListener } from './listen-pool.js';
import { GateError } from './errors.js';
import type { Logger } from './logger.js';
import { GateResponse } from './response.js';
import { watchSends } from './send-timeout.js';
import { upgradeGate, type UpgradeDecision } from './upgrade-request.js';

/** ListenerTls is how an HTTPS listener picks each connection's certificate and protocol floor. */
export interface ListenerTls {
  /** context picks the secure context for an SNI name ('' when the client sent none). */
  context(servername: string): SecureContext;
  /** defaults are the default server's options: the certificate for clients that send no SNI. */
  readonly defaults: SecureContextOptions;
  /** minVersion is the oldest protocol the server chosen for an SNI name accepts. */
  minVersion(servername: string): string | undefined;
  /** floor is the oldest protocol any server on the listener accepts (see listenerFloor): older ones fail the handshake. */
  readonly floor: SecureVersion;
  /** alpn01, when a server on the listener takes ACME TLS-ALPN-01 challenges, gives a pending challenge's certificate. */
  readonly alpn01?: TlsAlpn01;
  /** ocsp, when a server on the listener staples, gives the OCSP response for the certificate a handshake serves (DER), or undefined. */
  readonly ocsp?: (certificate: Buffer) => Buffer | undefined;
}

/** listenerFloor is the lowest of the servers' min_version on one listener, never below TLS 1.2. */
export function listenerFloor(versions: readonly (SecureVersion | undefined)[]): SecureVersion {
  // a server that sets none has Node's default, TLS 1.2; version names sort as their numbers do
  const lowest = versions.map((v) => v ?? 'TLSv1.2').sort()[0] ?? 'TLSv1.2';
  return lowest > 'TLSv1.2' ? lowest : 'TLSv1.2';
}

/** RequestListener handles one request on a listener. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** UpgradeListener handles a request that asks to switch protocols (WebSocket). */
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** ListenerSpec is what it takes to open one listening address. */
export interface ListenerSpec {
  readonly address: Address;
  /** tls, when set, makes this an HTTPS listener whose servers choose certificates by SNI. */
  readonly tls?: ListenerTls;
  readonly onRequest: RequestListener;
  readonly onUpgrade: UpgradeListener;
  /** takesUpgrade decides whether a request that asks to switch protocols is an upgrade (see upgradeGate). */
  readonly takesUpgrade: UpgradeDecision;
  /** onBadBody answers a request in flight whose body the parser refused (`reason` is the parser's code; 400, or 408 past request_timeout). */
  readonly onBadBody: (res: ServerResponse, status: number, reason: string) => void;
  /** http2, when set, makes the listener speak HTTP/2 beside HTTP/1.1: by ALPN on a TLS address, in cleartext on an h2c one. */
  readonly http2?: ListenerHttp2;
}

/** ListenerHttp2 is how a listener offers HTTP/2. */
export interface ListenerHttp2 {
  /** h2c: cleartext HTTP/2, by prior knowledge or `Upgrade: h2c`. */
  readonly h2c: boolean;
  /** offersH2 tells whether the server an SNI name picks ('' for none) offers h2 by ALPN. */
  readonly offersH2: (servername: string) => boolean;
  readonly limits: Http2Limits;
}

/** alpnChoice picks a TLS connection's protocol: h2 first where the server offers it (as Caddy), else HTTP/1.1; undefined refuses the handshake (RFC 7301 3.2). */
function alpnChoice(h2: ListenerHttp2, servername: string, offered: readonly string[]): string | undefined {
  if (offered.includes('h2') && h2.offersH2(servername)) return 'h2';
  return offered.includes('http/1.1') ? 'http/1.1' : undefined;
}

/** rawAnswer writes a minimal HTTP response straight to a socket and closes it. */
function rawAnswer(socket: Socket, status: number, detail?: string): void {
  const body = `${status} ${STATUS_CODES[status]}${detail ? `: ${detail}` : ''}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}

const CLIENT_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADERS_TIMEOUT: 408,
  HPE_URI_TOO_LONG: 414,
};

/** ParserSocket is a server connection as Node's HTTP server keeps it: its parser, and the response in flight. */
type ParserSocket = Socket & { parser?: { incoming?: IncomingMessage | null } | null; _httpMessage?: ServerResponse | null };

/**
 * onClientError answers a request Node's parser refused with a 4xx and a closed connection;
 * other clients are unaffected. A refused head gets its answer here. A refused body belongs
 * to a request already handed to a handler: while its response is the one in flight, the
 * kernel answers it (spec.onBadBody); after that response, or behind another, no answer
 * fits, and the connection closes once the response in flight is out.
 */
function onClientError(err: NodeJS.ErrnoException, socket: ParserSocket, spec: ListenerSpec, log: Logger): void {
  const inFlight = socket._httpMessage ?? undefined;
  const parsing = socket.parser?.incoming;
  const inBody = parsing !== undefined && parsing !== null && !parsing.complete;
  // the client left: mid-request (its handler sees the connection close), or in any way that resets
  if (err.code === 'ECONNRESET' || !socket.writable || (err.code === 'HPE_INVALID_EOF_STATE' && (inFlight || inBody))) {
    socket.destroy();
    return;
  }
  const reason = err.code ?? err.message;
  const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? 400;
  if (inBody && inFlight?.req === parsing) {
    spec.onBadBody(inFlight, status, reason);
    return;
  }
  log.info('bad request', { status, reason, remote: socket.remoteAddress });
  if (!inBody && !inFlight) {
    rawAnswer(socket, status);
    return;
  }
  if (!inFlight) socket.end();
  else if (!inFlight.headersSent) inFlight.shouldKeepAlive = false;
  else inFlight.once('finish', () => socket.end());
}

/** openListener creates and binds one HTTP or HTTPS server; it rejects with a GateError naming the address. */
export async function openListener(spec: ListenerSpec, settings: GlobalSettings, log: Logger): Promise<Server> {
  // Node looks for clients past their header or request timeout every connectionsCheckingInterval
  // (30 s by default): check often enough that a short timeout answers 408 on time.
  const shortest = Math.min(settings.headerTimeout || Infinity, settings.requestTimeout || Infinity);
  const options = {
    requestTimeout: settings.requestTimeout,
    headersTimeout: settings.headerTimeout,
    keepAliveTimeout: settings.keepaliveTimeout,
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(shortest / 4))),
  };
  const tls = spec.tls;
  const h2 = spec.http2;
  const takesUpgrade = h2?.h2c ? (req: IncomingMessage) => asksForH2c(req) || spec.takesUpgrade(req) : spec.takesUpgrade;
  const choose: AlpnChoice = h2
    ? (name, offered) => alpnChoice(h2, name, offered)
    : (_name, offered) => (offered.includes('http/1.1') ? 'http/1.1' : undefined);
  const alpn = tls && (h2 || tls.alpn01) ? { ALPNCallback: alpnSelect(tls.alpn01, choose) } : {};
  const server: Server = tls
    ? createHttpsServer(
        {
          ...options,
          ...tls.defaults,
          ...alpn,
          minVersion: tls.floor,
          IncomingMessage: upgradeGate(takesUpgrade),
          ServerResponse: GateResponse,
          SNICallback(this: unknown, name, cb) {
            try {
              cb(null, challengeContext(this) ?? tls.context(name));
            } catch (e) {
              cb(e as Error);
            }
          },
        },
        spec.onRequest,
      )
    : createServer({ ...options, IncomingMessage: upgradeGate(takesUpgrade), ServerResponse: GateResponse }, spec.onRequest);
  if (h2) speakHttp2(server, spec, settings, log);
  server.keepAliveTimeout = settings.keepaliveTimeout;
  // Node reads keepAliveTimeout 0 as "idle forever"; users of Nginx read keepalive_timeout 0 as "no keep-alive".
  if (settings.keepaliveTimeout === 0)
    server.prependListener('request', (_req, res) => {
      res.shouldKeepAlive = false;
    });
  if (!h2?.h2c) server.on('upgrade', spec.onUpgrade);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => onClientError(err, socket as ParserSocket, spec, log));
  const budget = connectionBudget();
  server.prependListener('connection', (socket: Socket) => budget.admit(socket, log));
  trackConnections(server, tls !== undefined);
  watchSends(server, tls !== undefined, settings.sendTimeout, log);
  // OpenSSL keeps the listener's protocol range after SNI picks a context: on a listener whose
  // servers differ in min_version, a server's own floor is enforced once the handshake is done.
  if (tls)
    server.on('secureConnection', (s: TLSSocket) => {
      if (challengeContext(s)) {
        s.end();
        return;
      } // a TLS-ALPN-01 validation: the handshake was the answer
      const sni = (s as TLSSocket & { servername?: string | false }).servername;
      const min = tls.minVersion(typeof sni === 'string' ? sni : '');
      if (min && (s.getProtocol() ?? '') < min) s.destroy();
    });
  if (tls)
    server.on('tlsClientError', (err: Error, socket: Socket) => {
      log.debug('tls handshake failed', { reason: err.message, remote: socket.remoteAddress });
    });
  if (tls) answerPlainHttp(server, log);
  if (tls?.ocsp) stapleOcsp(server, tls.ocsp);
  const a = spec.address;
  try {
    await takeListener(a.kind === 'unix' ? `unix:${a.path}` : `${a.host ?? '*'}:${a.port}`, server, (socket) => {
      if (a.kind === 'unix' && !cluster.isWorker) removeStaleSocket(a.path); // workers share the master's socket
      if (a.kind === 'unix') socket.listen(a.path);
      else socket.listen(a.port, a.host);
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'address already in use' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new GateError('GK_LISTEN', `cannot listen on ${a.text}: ${why}`, { cause: e });
  }
  // once listening, the errors a server emits are failures to accept: logged, never fatal
  server.on('error', (e: NodeJS.ErrnoException) => budget.acceptError(e, log));
  return server;
}

/**
 * speakHttp2 gives a listener its HTTP/2 side (see http2-listener.ts): the connections that
 * speak HTTP/2 go to a session server whose requests reach spec.onRequest, as HTTP/1.1 ones do.
 */
function speakHttp2(server: Server, spec: ListenerSpec, settings: GlobalSettings, log: Logger): void {
  const slowBody = (res: ServerResponse): void => spec.onBadBody(res, 408, 'ERR_HTTP_REQUEST_TIMEOUT');
  const h2 = http2Server(settings, spec.http2!.limits, spec.onRequest, slowBody, log);
  trackSessions(server, h2);
  if (spec.tls) {
    routeAlpn(server, h2);
    return;
  }
  routePreface(server, h2, settings, (socket) => forgetConnection(server, socket));
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (!asksForH2c(req)) {
      spec.onUpgrade(req, socket, head);
      return;
    }
    forgetConnection(server, socket);
    upgradeH2c(req, socket, head, h2, 'http');
  });
}

/** NOT_TLS are the handshake errors of a connection whose first bytes are no TLS record: mostly plain HTTP. */
const NOT_TLS = new Set(['ERR_SSL_HTTP_REQUEST', 'ERR_SSL_HTTPS_PROXY_REQUEST', 'ERR_SSL_WRONG_VERSION_NUMBER']);

/**
 * answerPlainHttp makes a TLS listener answer plain HTTP with a 400 and close, as Nginx does,
 * where the failed handshake alone closes in silence. The answer goes on the TCP socket under
 * the TLS one, which the 'connection' event gives before the handshake and which is found again
 * by its peer (unique among a listener's open connections; unix sockets have none, and get no
 * answer). Telling HTTP from TLS by reading the first bytes in JavaScript instead would feed
 * them to the TLS layer by hand, after which Node reads each connection in small pieces.
 */
function answerPlainHttp(server: Server, log: Logger): void {
  const tcp = new Map<string, Socket>();
  const peer = (s: Socket): string | undefined => (s.remotePort === undefined ? undefined : `${s.remoteAddress} ${s.remotePort}`);
  server.prependListener('connection', (socket: Socket) => {
    const key = peer(socket);
    if (key === undefined) return;
    tcp.set(key, socket);
    socket.once('close', () => tcp.delete(key));
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, tls: TLSSocket) => {
    const socket = NOT_TLS.has(err.code ?? '') ? tcp.get(peer(tls) ?? '') : undefined;
    if (!socket?.writable) return;
    log.info('bad request', { status: 400, reason: 'plain HTTP on a TLS address', remote: socket.remoteAddress });
    rawAnswer(socket, 400, 'the plain HTTP request was sent to an HTTPS port');
  });
}

/**
 * stapleOcsp answers a client that asks for certificate status (RFC 6066 8) with the staple of
 * the certificate SNI chose, from memory: a handshake never waits for a responder.
 */
function stapleOcsp(server: Server, staple: (certificate: Buffer) => Buffer | undefined): void {
  server.on('OCSPRequest', (certificate: Buffer, _issuer: Buffer | null, done: (err: Error | null, response?: Buffer | null) => void) => {
    let response: Buffer | undefined;
    try {
      response = staple(certificate);
    } catch {
      response = undefined;
    }
    done(null, response ?? null);
  });
}

/** removeStaleSocket deletes a unix socket file left by a process that crashed (never a regular file). */
export function removeStaleSocket(path: string): void {
  if (existsSync(path) && lstatSync(path).isSocket()) unlinkSync(path);
}

/** secureContexts caches one secure context per options object. */
export function secureContextOf(options: Parameters<typeof createSecureContext>[0]): SecureContext {
  return createSecureContext(options);
}
