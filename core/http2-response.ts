import type { OutgoingHttpHeaders } from 'node:http';
import { Http2ServerResponse, type Http2Stream, type ServerHttp2Stream, type ServerStreamResponseOptions } from 'node:http2';
import { byteLength, type BodyChain, type Chunk } from './body-chain.js';
import { isBodiless, ResponsePipeline, type ResponseHead, type Wire, type WriteCallback } from './pipeline.js';
import { divertDrain, PIPELINE, type Emit } from './response.js';
import { mergeHead, type HeadArg } from './response-head.js';

/**
 * CONNECTION_FIELDS are the fields HTTP/2 forbids in a message (RFC 9113 8.2.2): they are
 * about an HTTP/1.1 connection, which an HTTP/2 stream is not. A response keeps none of them,
 * whoever set them (a proxied upstream, a CGI script, an app), as Nginx drops them.
 */
const CONNECTION_FIELDS: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

const nodeWrite = Http2ServerResponse.prototype.write;
const nodeEnd = Http2ServerResponse.prototype.end;
const nodeSetHeader = Http2ServerResponse.prototype.setHeader;
const nodeAppendHeader = Http2ServerResponse.prototype.appendHeader;
const nodeRemoveHeader = Http2ServerResponse.prototype.removeHeader;
const nodeWriteHead = Http2ServerResponse.prototype.writeHead as (this: Http2ServerResponse, status: number) => unknown;
const nodeFlushHeaders = (Http2ServerResponse.prototype as unknown as { flushHeaders(): void }).flushHeaders;
const nodeHeadersSent = Object.getOwnPropertyDescriptor(Http2ServerResponse.prototype, 'headersSent')!.get!;

/** NO_BODY_STATUS are the statuses whose response Node's stream ends with its head (RFC 9110 15.3.5, 15.3.6, 15.4.5). */
const NO_BODY_STATUS: ReadonlySet<number> = new Set([204, 205, 304]);

/**
 * GateH2Response is the kernel's HTTP/2 response (the Http2ServerResponse class of its
 * listeners): Node's compatibility response, bound to a ResponsePipeline as GateResponse is
 * for HTTP/1.1, so head hooks, body filters and `ctx.sent` work alike. It drops the fields
 * HTTP/2 forbids, and ignores a reason phrase (HTTP/2 has none) rather than warn about it.
 */
export class GateH2Response extends Http2ServerResponse {
  readonly [PIPELINE]: ResponsePipeline;
  /** heldStatus is the status of a head written but not sent yet (see writeHead), else 0. */
  private heldStatus = 0;
  /** trailing: trailers were added, so the stream must wait for them after the body. */
  private trailing = false;

  constructor(stream: ServerHttp2Stream) {
    super(stream);
    this[PIPELINE] = new ResponsePipeline(new Http2Wire(this));
  }

  override setHeader(name: string, value: number | string | readonly string[]): this {
    this.sendHead(); // after writeHead: Node's error, as when the head went out
    if (!CONNECTION_FIELDS.has(name.toLowerCase())) nodeSetHeader.call(this, name, value);
    return this;
  }

  override appendHeader(name: string, value: string | readonly string[]): this {
    this.sendHead();
    if (!CONNECTION_FIELDS.has(name.toLowerCase())) nodeAppendHeader.call(this, name, value as string | string[]);
    return this;
  }

  override removeHeader(name: string): void {
    this.sendHead();
    nodeRemoveHeader.call(this, name);
  }

  flushHeaders(): void {
    if (this.heldStatus) this.sendHead();
    else nodeFlushHeaders.call(this);
  }

  /** holdsHead tells whether writeHead holds a head not sent yet. */
  holdsHead(): boolean {
    return this.heldStatus !== 0;
  }

  /** sendHead sends a head writeHead held, if any: its status and the headers as they stood then. */
  sendHead(): void {
    const status = this.heldStatus;
    if (!status) return;
    this.heldStatus = 0;
    nodeWriteHead.call(this as never, status); // nothing, when the stream is gone meanwhile
  }

  /** addTrailers takes trailers as Node's HTTP/1.1 response does: an object, or a list of [name, value] pairs (repeats kept). */
  override addTrailers(trailers: OutgoingHttpHeaders | readonly (readonly [string, string])[]): void {
    this.trailing = true;
    if (!Array.isArray(trailers)) {
      super.addTrailers(trailers as OutgoingHttpHeaders);
      return;
    }
    const merged: Record<string, string[]> = {};
    for (const [k, v] of trailers as readonly (readonly [string, string])[]) (merged[k.toLowerCase()] ??= []).push(v);
    super.addTrailers(Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, v.length === 1 ? v[0] : v])));
  }

  /**
   * writeHead of a response with no stage holds its head until the body's first write, its
   * end, or the end of this turn of the event loop, whichever comes first: a body given whole
   * to end() then leaves with it, one HEADERS frame and one DATA frame that ends the stream
   * (see endWhole), where Node's compatibility response sends a head, the body, and an empty
   * DATA frame once it knows there are no trailers. headersSent reads true meanwhile, and
   * whatever Node refuses once the head went out (a header set, a second writeHead) sends the
   * held head first, then fails as it would have.
   */
  override writeHead(status: number, reason?: string | HeadArg, headers?: HeadArg): this {
    this.sendHead();
    if (this.headersSent || this.stream.destroyed || this.stream.closed) return super.writeHead(status);
    const p = this[PIPELINE];
    // through setHeader and appendHeader, which drop the connection fields
    mergeHead(this, status, reason, headers);
    if (p.staged) {
      const chain = p.runHead();
      super.writeHead(this.statusCode);
      p.headSent(chain);
      return this;
    }
    this.heldStatus = this.statusCode;
    process.nextTick(sendHeld, this);
    p.headSent();
    return this;
  }

  // @ts-expect-error Node's types narrow the callback's error; the pipeline's writes take Node's callbacks as they are
  override write(chunk: Chunk, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    return this[PIPELINE].writeBody(chunk, encoding, cb);
  }

  override end(chunk?: Chunk | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    const p = this[PIPELINE];
    if (p.staged) {
      p.end(chunk, encoding, cb);
      return this;
    }
    if (this.heldStatus && this.endWhole(chunk, encoding, cb)) return this;
    this.sendHead();
    // Node's end() writes its chunk through this.write(), which counts it
    nodeEnd.call(this, chunk as Chunk, encoding as BufferEncoding, cb);
    return this;
  }

  /**
   * endWhole ends a response whose head is held with its whole body: head and body go out
   * together, and the stream ends with the body's DATA frame, since no trailers were added.
   * It returns false (and does nothing) when that does not apply: trailers, no body (Node's
   * stream then ends with the head), or a compatibility response of another shape than Node 20's.
   */
  private endWhole(chunk: Chunk | (() => void) | undefined, encoding: BufferEncoding | (() => void) | undefined, cb: (() => void) | undefined): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const stream = this.stream as ServerHttp2Stream & { headRequest?: boolean };
    const compat = compatOf(this);
    if (this.trailing || !compat || typeof chunk === 'function' || chunk == null || byteLength(chunk, encoding) === 0) return false;
    const status = this.heldStatus;
    if (stream.headRequest || NO_BODY_STATUS.has(status) || stream.destroyed || stream.closed) return false;
    // Node's own fields, as its compatibility response sends them (respond() copies them)
    const headers = compat.headers;
    headers[':status'] = status;
    this.heldStatus = 0;
    // what Node's end() records: the response is ending, for writableEnded, a second end() and its 'finish'
    const state = compat.state;
    state.ending = true;
    state.headRequest = false; // the stream's, which is false here (a HEAD went the other way)
    state.statusCode = status;
    stream.respond(headers, { waitForTrailers: false, sendDate: this.sendDate } as ServerStreamResponseOptions);
    if (cb) stream.once('finish', cb);
    stream.end(chunk, encoding as BufferEncoding);
    this[PIPELINE].count(chunk, encoding);
    return true;
  }

  /**
   * destroy cuts a response short. The stream is reset with INTERNAL_ERROR, as Nginx does: Node
   * would reset an error-less destroy with NO_ERROR, which a client cannot tell from a whole answer.
   */
  override destroy(error?: Error): this {
    if (!this.stream.destroyed) this[PIPELINE].cut();
    super.destroy(error ?? new Error('response cut short'));
    return this;
  }
}

// Accessors on the prototype, where Node's types declare plain properties.
Object.defineProperties(GateH2Response.prototype, {
  // HTTP/2 has no reason phrase: what handlers set is dropped, quietly (Node's warns)
  statusMessage: { configurable: true, get: () => '', set: () => {} },
  // an HTTP/1.1 notion: an HTTP/2 connection outlives its streams, and drains with GOAWAY
  shouldKeepAlive: { configurable: true, get: () => true, set: () => {} },
  // a held head counts as sent (see writeHead)
  headersSent: {
    configurable: true,
    get(this: GateH2Response) {
      return this.holdsHead() || (nodeHeadersSent.call(this) as boolean);
    },
  },
});

/** sendHeld sends a head still held at the end of the turn writeHead was called in. */
function sendHeld(res: GateH2Response): void {
  res.sendHead();
}

/** CompatState is the part of Node's compatibility response state that endWhole sets, as Node's own end() does. */
interface CompatState {
  ending: boolean;
  headRequest: boolean;
  statusCode: number;
}

/** Compat is Node's private state of a compatibility response: what endWhole needs of it. */
interface Compat {
  readonly state: CompatState;
  /** headers are the response's fields as setHeader left them (an object with no prototype), sent as they are. */
  readonly headers: OutgoingHttpHeaders;
}

/** COMPAT_KEYS are the symbols of Node's private state and fields on a compatibility response; null when Node's have another shape. */
let compatKeys: { state: symbol; headers: symbol } | undefined | null;

/** compatOf is Node's private state and fields of a compatibility response (Node 20's shape), or undefined when it has another. */
function compatOf(res: object): Compat | undefined {
  const own = res as Record<symbol, unknown>;
  if (compatKeys === undefined) {
    const keys = Object.getOwnPropertySymbols(res);
    const state = keys.find((k) => k.description === 'state');
    const headers = keys.find((k) => k.description === 'headers');
    const st = state && (own[state] as Partial<CompatState>);
    const shaped = st && typeof st.ending === 'boolean' && typeof st.headRequest === 'boolean' && typeof st.statusCode === 'number';
    compatKeys = shaped && headers && typeof own[headers] === 'object' ? { state: state!, headers } : null;
  }
  if (!compatKeys) return undefined;
  return { state: own[compatKeys.state] as CompatState, headers: own[compatKeys.headers] as OutgoingHttpHeaders };
}

/** Http2Wire is the pipeline's way to an HTTP/2 response: Node's compatibility methods, past the pipeline. */
class Http2Wire implements Wire {
  private emit: Emit | undefined;
  private readonly stream: Http2Stream;

  constructor(private readonly res: GateH2Response) {
    this.stream = res.stream;
  }

  get head(): ResponseHead {
    return this.res as unknown as ResponseHead;
  }
  headersSent(): boolean {
    return this.res.headersSent;
  }
  /** headerBytes are the head's fields as sent, uncompressed (name, value, ": " and CRLF each): HPACK's own size is not known here. */
  headerBytes(): number {
    const sent = (this.stream as ServerHttp2Stream & { sentHeaders?: Record<string, unknown> }).sentHeaders;
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
    const stream = this.stream;
    this.emit = divertDrain(this.res as unknown as { emit: Emit }, chain, () => stream.writableLength);
  }

  write(chunk: Chunk, encoding: BufferEncoding | undefined, cb?: WriteCallback): boolean {
    this.res.sendHead();
    return nodeWrite.call(this.res, chunk, encoding as BufferEncoding, cb);
  }
  end(chunk: Chunk | undefined, encoding: BufferEncoding | undefined, cb?: () => void): void {
    this.res.sendHead();
    // Node's end() would send its chunk through the response's own write(), the pipeline's way in
    if (chunk != null) nodeWrite.call(this.res, chunk, encoding as BufferEncoding);
    (nodeEnd as (cb?: () => void) => void).call(this.res, cb);
  }
  onceFinish(fn: () => void): void {
    this.res.once('finish', fn);
  }
  onceClosed(fn: (finished: boolean) => void): void {
    this.res.once('close', () => fn(this.finishedWrite()));
  }
  gone(): boolean {
    return this.stream.closed || this.stream.destroyed;
  }
  /** finishedWrite: the stream ended, with no reset from either side. */
  finishedWrite(): boolean {
    return this.stream.writableFinished && (this.stream.rstCode ?? 0) === 0;
  }
  drained(): void {
    (this.emit ?? this.res.emit).call(this.res, 'drain');
  }
  fail(e: Error): void {
    this.res.destroy(e);
  }
}
