import type { IncomingHttpHeaders } from 'node:http';
import type { IncomingHttpHeaders as Http2Headers, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { socketView } from './http2-socket.js';

/**
 * GateH2Request is the kernel's HTTP/2 request, built on the server's 'stream' event: an
 * IncomingMessage-like readable stream of the request body (with backpressure on the stream)
 * whose headers and raw headers read as the same request sent over HTTP/1.1 would (RFC 9113
 * 8.3.1): no pseudo-header fields, `host` from `:authority`, split cookie fields joined with
 * "; " (8.2.3), and `transfer-encoding: chunked` for a body of unannounced length, so that
 * every handler frames and forwards it as it does an HTTP/1.1 one. Method, URL, headers and
 * the version are own properties, as IncomingMessage's are, so they survive a framework that
 * swaps the request's prototype. Its socket keeps the connection's addresses after the stream closes.
 */
export class GateH2Request extends Readable {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
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

  constructor(
    readonly stream: ServerHttp2Stream,
    fields: Http2Headers,
    rawFields: string[],
  ) {
    super({ autoDestroy: false });
    this.method = fields[':method'] ?? 'GET';
    this.url = fields[':path'] ?? '/';
    [this.headers, this.rawHeaders] = plainHeaders(fields, rawFields, !stream.endAfterHeaders);
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
    this.push(null);
    const unread = !this.reading && this.readableFlowing === null;
    if (unread && !(this.stream.endAfterHeaders && this.listenerCount('end') === 0 && this.listenerCount('readable') === 0)) this.resume();
    this.emit('close');
  }
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
 * plainHeaders turns a stream's fields into the headers and raw headers of the same request
 * over HTTP/1.1 (see GateH2Request). `withBody` adds chunked framing when no length is given.
 */
function plainHeaders(fields: Http2Headers, rawFields: string[], withBody: boolean): [IncomingHttpHeaders, string[]] {
  const raw: string[] = [];
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
    raw.push(name, rawFields[i + 1]);
    // Node's value: a repeated field's values joined, or listed (set-cookie)
    if (plain[name] === undefined) (plain as Record<string, unknown>)[name] = fields[name];
  }
  if (cookies) {
    plain.cookie = cookies.join('; ');
    raw.push('cookie', plain.cookie);
  }
  if (host !== undefined) {
    plain.host = String(host);
    raw.unshift('host', plain.host);
  }
  if (withBody && plain['content-length'] === undefined) {
    plain['transfer-encoding'] = 'chunked';
    raw.push('transfer-encoding', 'chunked');
  }
  return [plain, raw];
}
