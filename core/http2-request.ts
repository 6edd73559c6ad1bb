import type { IncomingHttpHeaders } from 'node:http';
import type { IncomingHttpHeaders as Http2Headers, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { socketView, tlsProtocolOf } from './http2-socket.js';

/**
 * GateH2Request is the kernel's HTTP/2 request, built on the server's 'stream' event: an
 * IncomingMessage-like readable stream of the request body (with backpressure on the stream)
 * whose headers and raw headers read as the same request sent over HTTP/1.1 would (RFC 9113
 * 8.3.1): no pseudo-header fields, `host` from `:authority`, split cookie fields joined with
 * "; " (8.2.3), and `transfer-encoding: chunked` for a body of unannounced length, so that
 * every handler frames and forwards it as it does an HTTP/1.1 one. Method, URL, headers and
 * the version are own properties, as IncomingMessage's are, so they survive a framework that
 * swaps the request's prototype. Raw headers are made on first read (most requests are served
 * from `headers` alone). Its socket keeps the connection's addresses after the stream closes.
 */
export class GateH2Request extends Readable {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  httpVersion = '2.0';
  httpVersionMajor = 2;
  httpVersionMinor = 0;
  /** aborted tells whether the client reset the stream before its exchange ended. */
  aborted = false;
  /** trailers and rawTrailers are the request's trailer fields, once its body has ended. */
  trailers: IncomingHttpHeaders = {};
  rawTrailers: string[] = [];
  /** streamGone: the stream closed; the body reads no more. */
  streamGone = false;
  /** reading: the body is being read from the stream (its 'data' is listened to). */
  private reading = false;
  private peer: Socket | undefined;
  /** raw: the raw headers, once read or set; rawFields: the stream's own, to make them from until then. */
  private raw: string[] | undefined;
  private rawFields: string[] | undefined;

  constructor(
    readonly stream: ServerHttp2Stream,
    fields: Http2Headers,
    rawFields: string[],
  ) {
    super({ autoDestroy: false });
    this.method = fields[':method'] ?? 'GET';
    this.url = fields[':path'] ?? '/';
    this.headers = plainHeaders(fields, rawFields, !stream.endAfterHeaders);
    this.rawFields = rawFields;
  }

  /** rawHeaders are the names and values as sent, in order, as HTTP/1.1 would have them (see plainHeaders); made on first read. */
  get rawHeaders(): string[] {
    if (this.raw === undefined) {
      this.raw = plainRawHeaders(this.rawFields!, !this.stream.endAfterHeaders);
      this.rawFields = undefined;
    }
    return this.raw;
  }
  set rawHeaders(raw: string[]) {
    this.raw = raw;
    this.rawFields = undefined;
  }

  /**
   * _destroy passes a failure of the body (a timeout, a reset) on to whoever listens for it,
   * and never to the process when nobody does, as Node's HTTP/1.1 request does.
   */
  override _destroy(error: Error | null, cb: (error?: Error | null) => void): void {
    process.nextTick(() => cb(this.listenerCount('error') === 0 ? null : error));
  }

  /** complete tells whether the body is over: read to its end, or cut short. */
  get complete(): boolean {
    return this.aborted || this.readableEnded || this.streamGone || this.stream.destroyed;
  }

  /** socket is a view of the connection (see socketView), made on first use. */
  get socket(): Socket {
    return (this.peer ??= socketView(this.stream));
  }

  get connection(): Socket {
    return this.socket;
  }

  /** tlsProtocol is the TLS version of the request's connection (its socket's getProtocol()), read without making the socket view. */
  tlsProtocol(): string | null {
    return tlsProtocolOf(this.stream);
  }

  /** authority is the request's `:authority` (or Host) field. */
  get authority(): string | undefined {
    return this.headers.host;
  }

  /** setTimeout arms the stream's idle timer, as Node's compatibility request does. */
  setTimeout(ms: number, cb?: () => void): this {
    if (!this.streamGone) this.stream.setTimeout(ms, cb);
    return this;
  }

  override _read(): void {
    const stream = this.stream;
    // nothing to read: the body ends once it is asked for, and the stream is left alone (Node dumps it)
    if (stream.endAfterHeaders) {
      this.push(null);
      return;
    }
    if (this.streamGone) return;
    if (this.reading) {
      stream.resume();
      return;
    }
    this.reading = true;
    stream.on('data', onStreamData);
    stream.on('trailers', onStreamTrailers);
    stream.once('end', onStreamEnd);
  }

  /**
   * streamClosed ends the body when the stream closes: a body never read is dropped, as
   * HTTP/1.1's is, and plays out to its 'end'; a request that had none, that nobody read nor
   * waits the end of, is only marked ended (most GETs: three ticks of Readable machinery less).
   */
  streamClosed(): void {
    this.streamGone = true;
    const unread = !this.reading && this.readableFlowing === null;
    const unheard = unread && this.stream.endAfterHeaders && this.listenerCount('end') === 0 && this.listenerCount('readable') === 0;
    if (unheard) endNow(this);
    this.push(null);
    if (unread && !unheard) this.resume();
    this.emit('close');
  }
}

/**
 * endNow makes the end pushed next be noted at once, not announced ('readable') a tick later
 * as Readable does for a stream never read yet: a tick per GET, to tell no listener. It is
 * Readable's own flag for a push made outside _read; where a Node has no such flag, nothing changes.
 */
function endNow(req: Readable): void {
  const state = (req as Readable & { _readableState?: { sync?: unknown } })._readableState;
  if (state && typeof state.sync === 'boolean') state.sync = false;
}

/** REQUEST keys a stream's request, for the stream's listeners. */
export const REQUEST = Symbol('gatekit.h2Request');

type Keyed = ServerHttp2Stream & { [REQUEST]?: GateH2Request };

function onStreamData(this: Keyed, chunk: Buffer): void {
  const req = this[REQUEST];
  if (req && !req.push(chunk)) this.pause();
}

function onStreamTrailers(this: Keyed, fields: Http2Headers, _flags: number, raw: string[]): void {
  const req = this[REQUEST];
  if (!req) return;
  Object.assign(req.trailers, fields);
  req.rawTrailers.push(...raw);
}

function onStreamEnd(this: Keyed): void {
  this[REQUEST]?.push(null);
}

/**
 * plainHeaders turns a stream's fields into the headers of the same request over HTTP/1.1
 * (see GateH2Request). `withBody` adds chunked framing when no length is given.
 */
function plainHeaders(fields: Http2Headers, rawFields: string[], withBody: boolean): IncomingHttpHeaders {
  const plain: IncomingHttpHeaders = {};
  let cookies: string[] | undefined;
  let host = fields[':authority'];
  for (let i = 0; i < rawFields.length; i += 2) {
    const name = rawFields[i];
    if (name.charCodeAt(0) === 58 /* : */) continue;
    if (name === 'cookie') {
      (cookies ??= []).push(rawFields[i + 1]);
      continue;
    }
    if (name === 'host') {
      host ??= rawFields[i + 1];
      continue;
    }
    // Node's value: a repeated field's values joined, or listed (set-cookie)
    if (plain[name] === undefined) (plain as Record<string, unknown>)[name] = fields[name];
  }
  if (cookies) plain.cookie = cookies.join('; ');
  if (host !== undefined) plain.host = String(host);
  if (withBody && plain['content-length'] === undefined) plain['transfer-encoding'] = 'chunked';
  return plain;
}

/**
 * plainRawHeaders lists the raw headers of plainHeaders' request, from the stream's fields as
 * sent (not from `headers`, which handlers may have changed since): Host first, the fields
 * but pseudo-headers, Host and cookies, the cookies joined, then chunked framing if added.
 */
function plainRawHeaders(rawFields: string[], withBody: boolean): string[] {
  const raw: string[] = [];
  let cookies: string[] | undefined;
  let authority: string | undefined;
  let host: string | undefined;
  let length = false;
  for (let i = 0; i < rawFields.length; i += 2) {
    const name = rawFields[i];
    const value = rawFields[i + 1];
    if (name === ':authority') authority ??= value;
    else if (name === 'cookie') (cookies ??= []).push(value);
    else if (name === 'host') host ??= value;
    else if (name.charCodeAt(0) !== 58 /* : */) {
      raw.push(name, value);
      length ||= name === 'content-length';
    }
  }
  if (cookies) raw.push('cookie', cookies.join('; '));
  host = authority ?? host;
  if (host !== undefined) raw.unshift('host', host);
  if (withBody && !length) raw.push('transfer-encoding', 'chunked');
  return raw;
}
