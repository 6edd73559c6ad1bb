import { ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { BodyChain, Chunk } from './body-chain.js';
import { isBodiless, ResponsePipeline, type ResponseHead, type Wire, type WriteCallback } from './pipeline.js';
import { mergeHead, type HeadArg } from './response-head.js';
import { noteEnded } from './listener-drain.js';

/** PIPELINE keys a kernel response's pipeline (HTTP/1.1 and HTTP/2 alike). */
export const PIPELINE = Symbol('gatekit.pipeline');

/** pipelineOf is the pipeline of a response the kernel made; undefined for any other (a test's own server's). */
export function pipelineOf(res: object): ResponsePipeline | undefined {
  return (res as { [PIPELINE]?: ResponsePipeline })[PIPELINE];
}

const nodeWrite = ServerResponse.prototype.write;
const nodeEnd = ServerResponse.prototype.end;

/**
 * GateResponse is the kernel's HTTP/1.1 response (the ServerResponse class of its listeners):
 * Node's own, bound to a ResponsePipeline. With no head hook or body filter it costs a
 * property check per call and the counting of body bytes for `ctx.sent`; otherwise its
 * writeHead, write and end go through the pipeline, which runs the hooks and filters and
 * writes the result through Node's methods. Handlers and applications use it as Node's.
 */
export class GateResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  readonly [PIPELINE]: ResponsePipeline;

  constructor(req: Request) {
    super(req);
    this[PIPELINE] = new ResponsePipeline(new Http1Wire(this));
  }

  override writeHead(status: number, reason?: string | HeadArg, headers?: HeadArg): this {
    const p = this[PIPELINE];
    if (!p.staged) {
      super.writeHead(status, reason as string, headers as OutgoingHttpHeaders);
      p.headSent(undefined, true);
      return this;
    }
    mergeHead(this, status, reason, headers);
    const chain = p.runHead();
    super.writeHead(this.statusCode);
    p.headSent(chain, true);
    return this;
  }

  /** flushHeaders sends the head before any body: its time is the first byte's. */
  override flushHeaders(): void {
    const sending = !this.headersSent;
    super.flushHeaders();
    if (sending) this[PIPELINE].count(undefined, undefined);
  }

  override write(chunk: Chunk, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    return this[PIPELINE].writeBody(chunk, encoding, cb);
  }

  override end(chunk?: Chunk | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    const p = this[PIPELINE];
    if (p.staged) {
      noteEnded(this.socket, performance.now());
      p.end(chunk, encoding, cb);
      return this;
    }
    const socket = this.socket;
    super.end(chunk, encoding as BufferEncoding, cb);
    const at = performance.now(); // one clock read for the head's time (when the body carried it) and the connection's
    p.count(chunk, encoding, at);
    noteEnded(socket, at);
    return this;
  }

  override destroy(error?: Error): this {
    if (!this.destroyed) this[PIPELINE].cut();
    return super.destroy(error);
  }
}

/** Emit is an emitter's emit method. */
export type Emit = (event: string | symbol, ...args: unknown[]) => boolean;

/**
 * divertDrain gives a body chain a response's 'drain' (Node emits it on the response when the
 * connection takes more: that moves the chain on, and the handler's 'drain' is the chain's,
 * Wire.drained()), and makes the response's writableNeedDrain the chain's. It returns the
 * response's own emit. writableLength stays Node's: Node 24 reads it itself, for write()'s
 * answer and to emit 'drain' only once it is 0, which a chain's bytes waiting for that 'drain' never let be.
 */
export function divertDrain(res: { emit: Emit }, chain: BodyChain): Emit {
  const emit = res.emit;
  res.emit = function (this: unknown, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'drain') return emit.call(this, event, ...args);
    chain.wireDrained();
    return true;
  };
  Object.defineProperty(res, 'writableNeedDrain', { configurable: true, get: () => chain.needDrain });
  return emit;
}

/** Http1Wire is the pipeline's way to an HTTP/1.1 response: Node's own methods, past the pipeline. */
class Http1Wire implements Wire {
  /** emit is the response's own emit, once divert() put the chain's in its place. */
  private emit: Emit | undefined;

  constructor(private readonly res: GateResponse) {}

  get head(): ResponseHead {
    return this.res;
  }
  headersSent(): boolean {
    return this.res.headersSent;
  }
  /** headerBytes: Node keeps the head it wrote as a latin1 string, one byte per character. */
  headerBytes(): number {
    return (this.res as unknown as { _header?: string | null })._header?.length ?? 0;
  }
  bodiless(): boolean {
    return isBodiless(this.res.req.method, this.res.statusCode);
  }
  implicitHead(): void {
    this.res.writeHead(this.res.statusCode);
  }

  divert(chain: BodyChain): void {
    this.emit = divertDrain(this.res, chain);
  }

  write(chunk: Chunk, encoding: BufferEncoding | undefined, cb?: WriteCallback): boolean {
    return nodeWrite.call(this.res, chunk, encoding as BufferEncoding, cb);
  }
  end(chunk: Chunk | undefined, encoding: BufferEncoding | undefined, cb?: () => void): void {
    nodeEnd.call(this.res, chunk, encoding as BufferEncoding, cb);
  }
  onceFinish(fn: () => void): void {
    this.res.once('finish', fn);
  }
  onceClosed(fn: (finished: boolean) => void): void {
    const res = this.res;
    res.once('close', () => fn(res.writableFinished));
  }
  gone(): boolean {
    return this.res.closed;
  }
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
