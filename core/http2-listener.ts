// HTTP/2 on a listener: one Node Http2Server per listening address that never listens itself;
// the address's HTTP/1.1 server hands it the connections that speak HTTP/2: TLS connections
// that chose h2 by ALPN, and on an h2c address the cleartext ones that open with the HTTP/2
// preface or ask for it with `Upgrade: h2c` (see h2c-upgrade.ts). The HTTP/1.1 server keeps
// everything else, exactly as it serves it on an address without HTTP/2.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  constants,
  createServer,
  type Http2Server,
  type Http2Stream,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { GlobalSettings } from './config.js';
import { holdConnections } from './http2-connection.js';
import { closeStream, openStream, watchStalls } from './http2-stall.js';
import { GateH2Request, REQUEST } from './http2-request.js';
import { GateH2Response, RESPONSE } from './http2-response.js';
import type { Logger } from './logger.js';

/** PREFACE is what an HTTP/2 client sends first (RFC 9113 3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Http2Limits are the per-connection limits an HTTP/2 listener advertises and enforces. */
export interface Http2Limits {
  /** maxStreams is SETTINGS_MAX_CONCURRENT_STREAMS (Nginx: 128); streams past it are refused. */
  readonly maxStreams: number;
  /** maxHeaderList is SETTINGS_MAX_HEADER_LIST_SIZE, in bytes, uncompressed; a stream whose fields pass it is reset. */
  readonly maxHeaderList: number;
}

/** HTTP2_DEFAULTS are the limits of a listener whose config sets none, near Nginx's. */
export const HTTP2_DEFAULTS: Http2Limits = { maxStreams: 128, maxHeaderList: 32 * 1024 };

/** SessionRequest is the listener's request handler, which an HTTP/2 request reaches as an HTTP/1.1 one does. */
export type SessionRequest = (req: IncomingMessage, res: ServerResponse) => void;

/** SlowBody answers a request whose body did not arrive within request_timeout (the listener's onBadBody, with 408). */
export type SlowBody = (res: ServerResponse) => void;

/**
 * http2Server makes the HTTP/2 side of one listener. Node (nghttp2) already closes a
 * connection that resets streams in a loop, floods CONTINUATION, SETTINGS or PING frames, or
 * sends invalid frames; these limits bound the rest: streams at once, header list size, the
 * memory a session may hold, and an idle connection's life (keepalive_timeout). Each stream
 * becomes a GateH2Request and a GateH2Response, the kernel's own, built on the stream (Node's
 * compatibility classes cost a request about a third of its CPU).
 */
export function http2Server(settings: GlobalSettings, limits: Http2Limits, onRequest: SessionRequest, onSlowBody: SlowBody, log: Logger): Http2Server {
  const timeout = settings.requestTimeout;
  const serve: SessionRequest =
    timeout > 0
      ? (req, res) => {
          bodyDeadline(req as unknown as GateH2Request, res, timeout, onSlowBody);
          onRequest(req, res);
        }
      : onRequest;
  const server = createServer({
    settings: { maxConcurrentStreams: limits.maxStreams, maxHeaderListSize: limits.maxHeaderList, enableConnectProtocol: false, enablePush: false },
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
  } as never) as Http2Server;
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
    onStream(stream, headers, rawHeaders, serve),
  );
  holdConnections(server);
  watchStalls(server, settings.sendTimeout, log);
  if (settings.keepaliveTimeout > 0) server.setTimeout(settings.keepaliveTimeout);
  server.on('sessionError', (e: Error) => log.debug('http2 connection failed', { reason: e.message }));
  server.on('session', (session: ServerHttp2Session) => {
    session.on('goaway', (code: number) => {
      if (code !== 0) log.debug('http2 client sent GOAWAY', { code });
    });
  });
  return server;
}

type Keyed = ServerHttp2Stream & { [REQUEST]?: GateH2Request; [RESPONSE]?: GateH2Response };

/**
 * onStream makes a stream's request and response and serves them, as Node's compatibility
 * server does: CONNECT (which no handler takes: extended CONNECT is not offered) gets 405, an
 * Expect other than 100-continue 417, and 100-continue its 100 at once.
 */
function onStream(stream: Keyed, headers: IncomingHttpHeaders, rawHeaders: string[], serve: SessionRequest): void {
  const req = new GateH2Request(stream, headers, rawHeaders);
  const res = new GateH2Response(stream, req);
  stream[REQUEST] = req;
  stream[RESPONSE] = res;
  stream.on('error', unheard);
  stream.on('close', onStreamClose); // a stream closes once
  openStream(stream);
  const expect = headers.expect;
  if (headers[':method'] === 'CONNECT' || (expect !== undefined && expect !== '100-continue')) {
    res.statusCode = headers[':method'] === 'CONNECT' ? 405 : 417;
    res.end();
    return;
  }
  if (expect !== undefined) res.writeContinue();
  serve(req as unknown as IncomingMessage, res as unknown as ServerResponse);
}

/**
 * onStreamClose ends a stream's exchange, whichever side closed it: a client's reset first
 * marks the request aborted ('aborted'), then the request's body ends and the response emits
 * 'close' ('finish' first if all of it went out), as Node's HTTP/1.1 classes do.
 */
function onStreamClose(this: Keyed): void {
  closeStream(this);
  const req = this[REQUEST];
  const res = this[RESPONSE];
  this[REQUEST] = undefined;
  this[RESPONSE] = undefined;
  if (req) {
    if (this.aborted && !req.streamGone) {
      req.aborted = true;
      req.emit('aborted');
    }
    GateH2Request.prototype.streamClosed.call(req); // the class's own: a framework may have swapped the prototype
  }
  if (res) GateH2Response.prototype.streamClosed.call(res);
}

/** unheard is a stream's error listener: a stream's failure (a reset, a write after it closed) reaches its request and response through 'close', never the process. */
function unheard(): void {}

/**
 * bodyDeadline gives a request body request_timeout to arrive, as Node's HTTP/1.1 server
 * does: a stream that sends its head and then nothing (a slowloris on one stream) gets 408,
 * and its stream is then closed (RST_STREAM NO_ERROR after a complete answer, RFC 9113 8.1),
 * which frees its place among the connection's concurrent streams.
 */
function bodyDeadline(req: GateH2Request, res: ServerResponse, ms: number, onSlowBody: SlowBody): void {
  const stream = req.stream;
  if (stream.endAfterHeaders) return;
  const timer = setTimeout(() => {
    if (remoteEnded(stream)) return; // the body came; the handler just has not read it all
    onSlowBody(res);
    if (stream.writableFinished) stream.close();
    else stream.once('finish', () => stream.close());
  }, ms);
  stream.once('end', () => clearTimeout(timer));
  stream.once('close', () => clearTimeout(timer));
}

/** remoteEnded tells whether the client finished sending on a stream (its END_STREAM came), read or not. */
function remoteEnded(stream: Http2Stream): boolean {
  const s = stream.state?.state;
  return stream.destroyed || s === constants.NGHTTP2_STREAM_STATE_HALF_CLOSED_REMOTE || s === constants.NGHTTP2_STREAM_STATE_CLOSED;
}

/**
 * routeAlpn makes an HTTPS server hand the TLS connections that chose h2 to `h2`; the rest
 * stay with its own HTTP/1.1 connection handler. Call it before adding 'secureConnection' listeners.
 */
export function routeAlpn(server: Server, h2: Http2Server): void {
  const [http1] = server.listeners('secureConnection') as ((s: TLSSocket) => void)[];
  server.removeListener('secureConnection', http1);
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
    else http1.call(server, socket);
  });
}

/**
 * routePreface makes a cleartext HTTP server hand connections that open with the HTTP/2
 * preface to `h2` (prior knowledge, RFC 9113 3.3), and the rest to its own HTTP/1.1 handler.
 * A connection's first bytes are read in JavaScript to tell, then put back for whoever takes
 * it; one that sends nothing for header_timeout is closed. Call it before adding
 * 'connection' listeners.
 */
export function routePreface(server: Server, h2: Http2Server, settings: GlobalSettings, onH2: (socket: Socket) => void): void {
  const [http1] = server.listeners('connection') as ((s: Socket) => void)[];
  server.removeListener('connection', http1);
  server.on('connection', (socket: Socket) => {
    if (socket.destroyed) return; // over the connection budget
    sniffPreface(socket, settings.headerTimeout, (isH2) => {
      if (isH2) {
        onH2(socket);
        h2.emit('connection', socket);
        return;
      }
      http1.call(server, socket);
      socket.resume();
    });
  });
}

/** sniffPreface reads a connection's first bytes until they tell HTTP/2's preface from anything else, puts them back, and says which. */
function sniffPreface(socket: Socket, timeout: number, decide: (isH2: boolean) => void): void {
  let got: Buffer | undefined;
  const timer = timeout > 0 ? setTimeout(() => socket.destroy(), timeout) : undefined;
  const failed = (): void => {
    socket.destroy();
  };
  const done = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', done);
    socket.off('error', failed);
  };
  const onData = (chunk: Buffer): void => {
    got = got ? Buffer.concat([got, chunk]) : chunk;
    const n = Math.min(got.length, PREFACE.length);
    const h2 = got.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (h2 && n < PREFACE.length) return; // the start of the preface: wait for the rest
    done();
    socket.pause();
    socket.unshift(got);
    decide(h2);
  };
  socket.on('data', onData);
  socket.on('error', failed);
  socket.once('close', done);
}
