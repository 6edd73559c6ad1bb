import { validateHeaderName, validateHeaderValue, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { Stream } from 'node:stream';
import type { BodyChain, Chunk } from './body-chain.js';
import { httpDate } from './http-date.js';
import type { GateH2Request } from './http2-request.js';
import { isBodiless, ResponsePipeline, type ResponseHead, type Wire, type WriteCallback } from './pipeline.js';
import { divertDrain, PIPELINE, type Emit } from './response.js';
import { mergeHead, type HeadArg } from './response-head.js';

/**
 * CONNECTION_FIELDS are the fields HTTP/2 forbids in a message (RFC 9113 8.2.2): they are
 * about an HTTP/1.1 connection, which an HTTP/2 stream is not. A response keeps none of them,
 * whoever set them (a proxied upstream, a CGI script, an app), as Nginx drops them.
 */
const CONNECTION_FIELDS: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** NO_BODY_STATUS are the statuses whose response ends with its head (RFC 9110 15.3.5, 15.3.6, 15.4.5); Node's stream ends them so. */
const NO_BODY_STATUS: ReadonlySet<number> = new Set([204, 205, 304]);

/** RESPONSE keys a stream's response, for the stream's listeners. */
export const RESPONSE = Symbol('gatekit.h2Response');

type Keyed = ServerHttp2Stream & { [RESPONSE]?: GateH2Response };

/** Fields are a response's header fields by lowercase name, as they will be sent. */
type Fields = Record<string, OutgoingHttpHeader>;

/**
 * FieldBag makes a response's Fields: an object that inherits no names (a field called
 * `constructor` is only a field), as Object.create(null) does, but that V8 keeps in fast mode,
 * which Object.create(null) is not: Node's respond() copies the fields with for-in, which a
 * dictionary-mode object made cost a request several microseconds.
 */
function FieldBag(): void {}
FieldBag.prototype = Object.create(null) as object;

/** newFields makes an empty Fields (see FieldBag). */
function newFields(): Fields {
  return new (FieldBag as unknown as new () => Fields)();
}

/** headersSentError is the error of a head changed once it went out (Node's code and message). */
function headersSentError(): Error {
  return Object.assign(new Error('Response has already been initiated.'), { code: 'ERR_HTTP2_HEADERS_SENT' });
}

/**
 * GateH2Response is the kernel's HTTP/2 response, a ServerResponse-like object written
 * straight to its ServerHttp2Stream and bound to a ResponsePipeline as GateResponse is for
 * HTTP/1.1, so head hooks, body filters and `ctx.sent` work alike. It drops the fields HTTP/2
 * forbids, and ignores a reason phrase (HTTP/2 has none). A HEAD, 204, 205 or 304 goes out
 * as a head alone, whatever body the handler writes. A body given whole leaves with its head:
 * one HEADERS frame and one DATA frame that ends the stream (see writeHead).
 */
export class GateH2Response extends Stream {
  readonly [PIPELINE]: ResponsePipeline;
  readonly req: GateH2Request;
  readonly writable = true;
  sendDate = true;
  /** writableEnded: end() was called (finished, in Node's older name). */
  writableEnded = false;
  /** heldStatus is the status of a head written but not sent yet (see writeHead), else 0. */
  private heldStatus = 0;
  private status = 200;
  private fields: Fields = newFields();
  private trailerFields: OutgoingHttpHeaders | undefined;
  /** closed: the stream closed; 'close' (after 'finish' if it finished) was emitted. */
  private closed = false;
  private destroyedByUs = false;
  private drainArmed = false;

  constructor(
    readonly stream: ServerHttp2Stream,
    req: GateH2Request,
  ) {
    super();
    this.req = req;
    this[PIPELINE] = new ResponsePipeline(new Http2Wire(this));
  }

  get statusCode(): number {
    return this.status;
  }
  set statusCode(code: number) {
    code |= 0;
    if (code < 200 || code > 599) throw new RangeError(`Invalid status code for an HTTP/2 response: ${code}`);
    this.status = code;
  }

  /** headersSent reads true once writeHead ran, even while its head is held. */
  get headersSent(): boolean {
    return this.heldStatus !== 0 || this.stream.headersSent;
  }
  /** _header is what some frameworks (finalhandler) test for a sent head. */
  get _header(): boolean {
    return this.headersSent;
  }
  get finished(): boolean {
    return this.writableEnded;
  }
  /** writableFinished: all of the response went out; a stream the client reset counts as finished in Node, not here. */
  get writableFinished(): boolean {
    return this.stream.writableFinished && (this.stream.rstCode ?? 0) === 0;
  }
  get writableLength(): number {
    return this.stream.writableLength;
  }
  get writableNeedDrain(): boolean {
    return this.stream.writableNeedDrain;
  }
  get writableHighWaterMark(): number {
    return this.stream.writableHighWaterMark;
  }
  get writableCorked(): number {
    return this.stream.writableCorked;
  }
  get destroyed(): boolean {
    return this.destroyedByUs || this.stream.destroyed;
  }
  /** socket is the request's view of the connection while the stream is open (HTTP/1.1's response lets go of it too). */
  get socket(): Socket | undefined {
    return this.closed ? undefined : this.req.socket;
  }
  get connection(): Socket | undefined {
    return this.socket;
  }
  /** statusMessage: HTTP/2 has no reason phrase; what handlers set is dropped. */
  get statusMessage(): string {
    return '';
  }
  set statusMessage(_reason: string) {}
  /** shouldKeepAlive: an HTTP/1.1 notion; an HTTP/2 connection outlives its streams, and drains with GOAWAY. */
  get shouldKeepAlive(): boolean {
    return true;
  }
  set shouldKeepAlive(_keep: boolean) {}

  getHeader(name: string): OutgoingHttpHeader | undefined {
    return this.fields[name.toLowerCase()];
  }
  getHeaderNames(): string[] {
    return Object.keys(this.fields);
  }
  getHeaders(): OutgoingHttpHeaders {
    return Object.assign(Object.create(null) as OutgoingHttpHeaders, this.fields);
  }
  hasHeader(name: string): boolean {
    return Object.hasOwn(this.fields, name.toLowerCase());
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.sendHead(); // after writeHead: the error a sent head gets
    if (this.stream.headersSent) throw headersSentError();
    const key = fieldName(name, value);
    if (!CONNECTION_FIELDS.has(key)) this.fields[key] = value as OutgoingHttpHeader;
    return this;
  }

  appendHeader(name: string, value: string | readonly string[]): this {
    this.sendHead();
    if (this.stream.headersSent) throw headersSentError();
    const key = fieldName(name, value);
    if (CONNECTION_FIELDS.has(key)) return this;
    const had = this.fields[key];
    if (had === undefined) this.fields[key] = value as OutgoingHttpHeader;
    else this.fields[key] = (Array.isArray(had) ? had : [String(had)]).concat(value as string | string[]);
    return this;
  }

  removeHeader(name: string): void {
    this.sendHead();
    if (this.stream.headersSent) throw headersSentError();
    const key = name.toLowerCase();
    if (key === 'date') this.sendDate = false;
    else delete this.fields[key];
  }

  /** addTrailers takes trailers as Node's HTTP/1.1 response does: an object, or a list of [name, value] pairs (repeats kept). */
  addTrailers(trailers: OutgoingHttpHeaders | readonly (readonly [string, string])[]): void {
    const to = (this.trailerFields ??= Object.create(null) as OutgoingHttpHeaders);
    if (!Array.isArray(trailers)) {
      for (const [k, v] of Object.entries(trailers as OutgoingHttpHeaders)) to[fieldName(k, v)] = v;
      return;
    }
    const merged: Record<string, string[]> = {};
    for (const [k, v] of trailers as readonly (readonly [string, string])[]) (merged[fieldName(k, v)] ??= []).push(v);
    for (const [k, v] of Object.entries(merged)) to[k] = v.length === 1 ? v[0] : v;
  }

  /** setTrailer sets one trailer field. */
  setTrailer(name: string, value: string | string[]): void {
    (this.trailerFields ??= Object.create(null) as OutgoingHttpHeaders)[fieldName(name, value)] = value;
  }

  /**
   * writeHead of a response with no stage holds its head until the body's first write, its
   * end, or the end of this turn of the event loop, whichever comes first: a body given whole
   * to end() then leaves with it, one HEADERS frame and one DATA frame that ends the stream.
   * headersSent reads true meanwhile, and whatever is refused once the head went out (a
   * header set, a second writeHead) sends the held head first, then fails as it would have.
   */
  writeHead(status: number, reason?: string | HeadArg, headers?: HeadArg): this {
    this.sendHead();
    const stream = this.stream;
    if (this.closed || stream.destroyed || stream.closed) return this;
    if (stream.headersSent) throw headersSentError();
    const p = this[PIPELINE];
    // through setHeader and appendHeader, which drop the connection fields
    mergeHead(this, status, reason, headers);
    if (p.staged) {
      const chain = p.runHead();
      this.respond(false);
      p.headSent(chain);
      return this;
    }
    this.heldStatus = this.status;
    holdHead(this);
    p.headSent();
    return this;
  }

  /** flushHeaders sends the head now. */
  flushHeaders(): void {
    if (this.heldStatus) this.sendHead();
    else if (!this.closed && !this.stream.headersSent) this.writeHead(this.status).sendHead();
  }

  /** sendHead sends a head writeHead held, if any: its status and the headers as they stood then. */
  sendHead(): void {
    if (!this.heldStatus) return;
    this.status = this.heldStatus;
    this.heldStatus = 0;
    const stream = this.stream;
    if (!stream.destroyed && !stream.closed && !this.closed) this.respond(false);
  }

  /**
   * respond sends the head on the stream. A response still open waits for trailers (they may
   * come with the body), unless `ending` says the body is all written with the head: then it
   * waits only if trailers were added already; `empty`, there is no body either, and the head
   * ends the stream. Node ends a HEAD's, 204's or 304's stream with its head.
   */
  private respond(ending: boolean, empty = false): void {
    const fields = this.fields;
    fields[':status'] = this.status;
    const waitForTrailers = !ending || this.trailerFields !== undefined;
    if (waitForTrailers) this.stream.once('wantTrailers', onWantTrailers);
    const endStream = empty && !waitForTrailers;
    // The Date field is added here, not by Node: Node adds it to its own copy of the fields, a
    // store that costs a request ~1 us once the process has loaded much code (a V8 slow path).
    // It leaves with the head and is gone again at once (a fast delete: the last field added).
    const dated = this.sendDate && fields.date === undefined;
    if (dated) fields.date = httpDate();
    try {
      this.stream.respond(fields as OutgoingHttpHeaders, { endStream, waitForTrailers, sendDate: this.sendDate && !dated } as never);
    } finally {
      if (dated) delete fields.date;
    }
  }

  write(chunk: Chunk, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    return this[PIPELINE].writeBody(chunk, encoding, cb);
  }

  end(chunk?: Chunk | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    const p = this[PIPELINE];
    if (p.staged) {
      p.end(chunk, encoding, cb);
      return this;
    }
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    this.endStream(chunk, encoding as BufferEncoding | undefined, cb);
    p.count(chunk, encoding);
    return this;
  }

  /** bodiless tells whether this response carries no body (a HEAD, 204, 205, 304). */
  bodiless(): boolean {
    return (this.stream as ServerHttp2Stream & { headRequest: boolean }).headRequest || NO_BODY_STATUS.has(this.status);
  }

  /** writeStream writes body bytes to the stream, sending the head first; a bodiless response drops them. */
  writeStream(chunk: Chunk, encoding: BufferEncoding | undefined, cb?: WriteCallback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const stream = this.stream;
    const refused = this.writableEnded ? 'write after end' : this.closed || stream.closed ? 'the stream is closed' : undefined;
    if (refused) {
      const e = Object.assign(new Error(refused), { code: this.writableEnded ? 'ERR_STREAM_WRITE_AFTER_END' : 'ERR_HTTP2_INVALID_STREAM' });
      if (cb) process.nextTick(cb, e);
      this.destroy(e);
      return false;
    }
    if (stream.destroyed) return false;
    if (!stream.headersSent) {
      if (!this.heldStatus) this.writeHead(this.status);
      this.sendHead();
    }
    if (this.bodiless()) {
      if (cb) process.nextTick(cb);
      return true;
    }
    if (stream.write(chunk, encoding as BufferEncoding, cb)) return true;
    if (!this.drainArmed) {
      this.drainArmed = true;
      stream.on('drain', onStreamDrain);
    }
    return false;
  }

  /**
   * endStream ends the response on the stream. A head still unsent leaves with the last chunk:
   * HEADERS, then one DATA frame that ends the stream; or HEADERS alone, ending it, when there
   * is no body. Trailers, when added, follow.
   */
  endStream(chunk: Chunk | undefined, encoding: BufferEncoding | undefined, cb?: () => void): void {
    const stream = this.stream;
    if (this.writableEnded || this.closed) {
      if (cb) process.nextTick(cb);
      return;
    }
    this.writableEnded = true;
    if (stream.destroyed || stream.closed) {
      this.heldStatus = 0;
      if (cb) process.nextTick(cb);
      return;
    }
    if (cb) stream.once('finish', cb);
    const body = chunk != null && chunk.length !== 0;
    if (!stream.headersSent) {
      if (!this.heldStatus) this.writeHead(this.status);
      this.status = this.heldStatus || this.status;
      this.heldStatus = 0;
      this.respond(true, !body);
    }
    if (body && !this.bodiless() && !stream.writableEnded) stream.end(chunk, encoding as BufferEncoding);
    else stream.end();
  }

  /**
   * destroy cuts a response short. The stream is reset with INTERNAL_ERROR, as Nginx does: an
   * error-less destroy would reset it with NO_ERROR, which a client cannot tell from a whole answer.
   */
  destroy(error?: Error): this {
    if (this.destroyedByUs) return this;
    this.destroyedByUs = true;
    if (!this.stream.destroyed) this[PIPELINE].cut();
    this.stream.destroy(error ?? new Error('response cut short'));
    return this;
  }

  /** setTimeout arms the stream's idle timer; `cb` runs on the response's 'timeout'. */
  setTimeout(ms: number, cb?: () => void): this {
    if (this.closed) return this;
    if (cb) this.once('timeout', cb);
    this.stream.setTimeout(ms, () => this.emit('timeout'));
    return this;
  }

  /** writeContinue sends a 100 (Continue) ahead of the head. */
  writeContinue(): boolean {
    if (this.stream.headersSent || this.closed) return false;
    this.stream.additionalHeaders({ ':status': 100 });
    return true;
  }

  /** writeEarlyHints sends a 103 (Early Hints) ahead of the head. */
  writeEarlyHints(hints: Record<string, string | string[]>, cb?: () => void): boolean {
    if (this.stream.headersSent || this.closed) return false;
    const fields: OutgoingHttpHeaders = { ':status': 103 };
    for (const [k, v] of Object.entries(hints)) fields[k.toLowerCase()] = k.toLowerCase() === 'link' && Array.isArray(v) ? v.join(', ') : v;
    this.stream.additionalHeaders(fields);
    if (cb) process.nextTick(cb);
    return true;
  }

  cork(): void {
    this.stream.cork();
  }
  uncork(): void {
    this.stream.uncork();
  }

  /**
   * streamClosed ends the response when its stream closes: 'finish' if all of it went out, then
   * 'close', as Node's HTTP/1.1 response. (Node's HTTP/2 compatibility response also emits
   * 'finish' for a stream the client reset: a pipeline into it then took the cut as a success
   * and left its source, a static file's handle, open for good.)
   */
  streamClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.heldStatus = 0;
    if (this.writableFinished) this.emit('finish');
    this.emit('close');
  }

  /** sendTrailers answers the stream's wantTrailers: the trailers added, or none. */
  sendTrailers(): void {
    this.stream.sendTrailers(this.trailerFields ?? {});
  }

  /** drained passes the stream's 'drain' on. */
  drained(): void {
    this.emit('drain');
  }
}

/** CheckedField is a field name found valid, with its lowercase form and the last value found valid with it. */
interface CheckedField {
  readonly lower: string;
  value: unknown;
}

/**
 * CHECKED remembers the field names found valid (up to CHECKED_MAX of them): most responses
 * set the names, and often the values (a static file's), that the last one set, and need not
 * check them, nor lowercase the name, again.
 */
const CHECKED = new Map<string, CheckedField>();
const CHECKED_MAX = 512;

/** fieldName checks a field as Node's HTTP/1.1 response does, and returns its name in lowercase. */
function fieldName(name: string, value: unknown): string {
  const known = CHECKED.get(name);
  if (known === undefined) validateHeaderName(name);
  // a string or number found valid is valid again; a list may have changed since
  else if (known.value === value && (typeof value === 'string' || typeof value === 'number')) return known.lower;
  validateHeaderValue(name, value as string);
  if (known !== undefined) {
    known.value = value;
    return known.lower;
  }
  const lower = name.toLowerCase();
  if (CHECKED.size < CHECKED_MAX) CHECKED.set(name, { lower, value });
  return lower;
}

/** held are the responses whose head writeHead held in this turn; one tick sends those still held (see writeHead). */
const held: GateH2Response[] = [];

/** holdHead has a response's head sent at the end of this turn, if nothing sent it before. */
function holdHead(res: GateH2Response): void {
  if (held.push(res) === 1) process.nextTick(sendHeld);
}

/** sendHeld sends the heads still held at the end of the turn writeHead was called in. */
function sendHeld(): void {
  let failed: Error | undefined; // one head that fails to go out stops no other
  // by index: a head held meanwhile joins this round (the list is one array, kept for the next turn)
  for (let i = 0; i < held.length; i++) {
    try {
      held[i].sendHead();
    } catch (e) {
      failed ??= e instanceof Error ? e : new Error(String(e));
    }
  }
  held.length = 0;
  if (failed !== undefined) throw failed;
}

function onWantTrailers(this: Keyed): void {
  this[RESPONSE]?.sendTrailers();
}

function onStreamDrain(this: Keyed): void {
  this[RESPONSE]?.drained();
}

/** Http2Wire is the pipeline's way to an HTTP/2 response: the stream, past the pipeline. */
class Http2Wire implements Wire {
  private emit: Emit | undefined;

  constructor(private readonly res: GateH2Response) {}

  get head(): ResponseHead {
    return this.res as unknown as ResponseHead;
  }
  headersSent(): boolean {
    return this.res.headersSent;
  }
  /** headerBytes are the head's fields as sent, uncompressed (name, value, ": " and CRLF each): HPACK's own size is not known here. */
  headerBytes(): number {
    const sent = (this.res.stream as ServerHttp2Stream & { sentHeaders?: Record<string, unknown> }).sentHeaders;
    if (!sent) return 0;
    let n = 0;
    // for-in, not Object.entries: once per response, and this object has no prototype
    for (const k in sent) n += k.length + String(sent[k]).length + 4;
    return n;
  }
  bodiless(): boolean {
    return isBodiless(this.res.req.method, this.res.statusCode);
  }
  implicitHead(): void {
    this.res.writeHead(this.res.statusCode);
  }

  divert(chain: BodyChain): void {
    this.emit = divertDrain(this.res as unknown as { emit: Emit }, chain);
  }

  write(chunk: Chunk, encoding: BufferEncoding | undefined, cb?: WriteCallback): boolean {
    return this.res.writeStream(chunk, encoding, cb);
  }
  end(chunk: Chunk | undefined, encoding: BufferEncoding | undefined, cb?: () => void): void {
    this.res.endStream(chunk, encoding, cb);
  }
  onceFinish(fn: () => void): void {
    this.res.once('finish', fn);
  }
  onceClosed(fn: (finished: boolean) => void): void {
    this.res.once('close', () => fn(this.finishedWrite()));
  }
  gone(): boolean {
    return this.res.stream.closed || this.res.stream.destroyed;
  }
  /** finishedWrite: the stream ended, with no reset from either side. */
  finishedWrite(): boolean {
    return this.res.writableFinished;
  }
  drained(): void {
    (this.emit ?? this.res.emit).call(this.res, 'drain');
  }
  fail(e: Error): void {
    this.res.destroy(e);
  }
}
