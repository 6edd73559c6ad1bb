import type { OutgoingHttpHeaders } from 'node:http';
import { Http2ServerResponse, type Http2Stream, type ServerHttp2Stream } from 'node:http2';
import type { BodyChain, Chunk } from './body-chain.js';
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

/**
 * GateH2Response is the kernel's HTTP/2 response (the Http2ServerResponse class of its
 * listeners): Node's compatibility response, bound to a ResponsePipeline as GateResponse is
 * for HTTP/1.1, so head hooks, body filters and `ctx.sent` work alike. It drops the fields
 * HTTP/2 forbids, and ignores a reason phrase (HTTP/2 has none) rather than warn about it.
 */
export class GateH2Response extends Http2ServerResponse {
  readonly [PIPELINE]: ResponsePipeline;

  constructor(stream: ServerHttp2Stream) {
    super(stream);
    this[PIPELINE] = new ResponsePipeline(new Http2Wire(this));
  }

  override setHeader(name: string, value: number | string | readonly string[]): this {
    if (!CONNECTION_FIELDS.has(name.toLowerCase())) nodeSetHeader.call(this, name, value);
    return this;
  }

  override appendHeader(name: string, value: string | readonly string[]): this {
    if (!CONNECTION_FIELDS.has(name.toLowerCase())) nodeAppendHeader.call(this, name, value as string | string[]);
    return this;
  }

  /** addTrailers takes trailers as Node's HTTP/1.1 response does: an object, or a list of [name, value] pairs (repeats kept). */
  override addTrailers(trailers: OutgoingHttpHeaders | readonly (readonly [string, string])[]): void {
    if (!Array.isArray(trailers)) {
      super.addTrailers(trailers as OutgoingHttpHeaders);
      return;
    }
    const merged: Record<string, string[]> = {};
    for (const [k, v] of trailers as readonly (readonly [string, string])[]) (merged[k.toLowerCase()] ??= []).push(v);
    super.addTrailers(Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, v.length === 1 ? v[0] : v])));
  }

  override writeHead(status: number, reason?: string | HeadArg, headers?: HeadArg): this {
    if (this.headersSent || this.stream.destroyed || this.stream.closed) return super.writeHead(status);
    const p = this[PIPELINE];
    // through setHeader and appendHeader, which drop the connection fields
    mergeHead(this, status, reason, headers);
    const chain = p.staged ? p.runHead() : undefined;
    super.writeHead(this.statusCode);
    p.headSent(chain);
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
    // Node's end() writes its chunk through this.write(), which counts it
    nodeEnd.call(this, chunk as Chunk, encoding as BufferEncoding, cb);
    return this;
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
});

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
    for (const [k, v] of Object.entries(sent)) n += k.length + String(v).length + 4;
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
    return nodeWrite.call(this.res, chunk, encoding as BufferEncoding, cb);
  }
  end(chunk: Chunk | undefined, encoding: BufferEncoding | undefined, cb?: () => void): void {
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
