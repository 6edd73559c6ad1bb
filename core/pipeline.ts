// The response pipeline: every response goes out through one of these, whatever the protocol
// that carries it. Middleware ask it for what they used to get by patching the response: a
// look at the head before it goes (onHead), a place in the body's way out (filterBody), and a
// record of what went out (sent). A protocol's response class (core/response.ts for HTTP/1.1)
// calls into it and gives it a Wire to write to; nothing here knows the protocol.

import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { BodyChain, byteLength, type Chunk } from './body-chain.js';
import { GateError } from './errors.js';

/** ResponseHead is a response's status and headers as head hooks and body filters read and change them. */
export interface ResponseHead {
  statusCode: number;
  getHeader(name: string): number | string | string[] | undefined;
  getHeaderNames(): string[];
  hasHeader(name: string): boolean;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  appendHeader(name: string, value: string | readonly string[]): unknown;
  removeHeader(name: string): void;
}

/** HeadHook runs once, just before a response's head goes out (see Ctx.onHead). */
export type HeadHook = (head: ResponseHead) => void;

/**
 * BodyTransform is what a body filter does to one body: a stream for a body written in
 * pieces, and optionally one call for a body given whole.
 */
export interface BodyTransform {
  /** stream makes the transform the body flows through; called once, when the first piece comes. */
  stream(): Duplex;
  /**
   * whole transforms a body given whole (to end(), with nothing written before) in one call;
   * undefined sends it through stream() instead. Optional: without it, every body streams.
   */
  whole?(body: Buffer): Buffer | undefined;
  /** flush is called when the writer pauses (writes nothing for an event-loop turn), to send on what the stream holds back. */
  flush?(): void;
}

/**
 * BodyFilter decides, as the head goes out, whether and how a response's body is
 * transformed: it reads and may change the head (drop Content-Length, set Content-Encoding)
 * and returns the transform, or undefined to let the body pass as it is.
 */
export type BodyFilter = (head: ResponseHead) => BodyTransform | undefined;

/** Sent is the kernel's record of a response: final once the exchange is over (see Ctx.onSent). */
export interface Sent {
  /** status is the status sent; 101 for a connection an upgrade took over. */
  readonly status: number;
  /** headerBytes are the bytes of the status line and headers (0 when none went out). */
  readonly headerBytes: number;
  /**
   * bodyBytes are the body's bytes as sent, after body filters, without the protocol's
   * framing (HTTP/1.1 chunk sizes); 0 for a HEAD, 204 or 304. For a connection taken over,
   * every byte written on it after it was taken.
   */
  readonly bodyBytes: number;
  /** firstByteMs is the time from the request's arrival to its head going out; undefined while none did. */
  readonly firstByteMs: number | undefined;
  /** totalMs is the time from the request's arrival to the end of its response (until now while in flight). */
  readonly totalMs: number;
  /** clientLeft tells whether the client closed the connection before the response was complete. */
  readonly clientLeft: boolean;
  /** upgraded tells whether a handler took the connection over (takeUpgrade, takeSocket). */
  readonly upgraded: boolean;
  /** done tells whether the exchange is over and this record final. */
  readonly done: boolean;
}

/** Wire is a protocol's side of a pipeline: the response it writes to and describes. */
export interface Wire {
  readonly head: ResponseHead;
  headersSent(): boolean;
  /** headerBytes are the bytes of the head as the protocol sends it. */
  headerBytes(): number;
  /** bodiless tells whether the response can carry no body (a HEAD, 1xx, 204, 304). */
  bodiless(): boolean;
  /** implicitHead sends the head as it stands, through the response's own writeHead. */
  implicitHead(): void;
  write(chunk: Chunk, encoding: BufferEncoding | undefined, cb?: WriteCallback): boolean;
  end(chunk: Chunk | undefined, encoding: BufferEncoding | undefined, cb?: () => void): void;
  onceFinish(fn: () => void): void;
  /** onceClosed calls `fn` once the connection lets go of the response, telling whether it had finished. */
  onceClosed(fn: (finished: boolean) => void): void;
  /** gone tells whether the connection let go of the response already (finished or not). */
  gone(): boolean;
  /** finishedWrite tells whether the whole response was handed to the connection. */
  finishedWrite(): boolean;
  /**
   * divert gives a body chain the connection's 'drain' (which then no longer reaches the
   * handler), and makes the response's writableNeedDrain the chain's.
   */
  divert(chain: BodyChain): void;
  /** drained tells the writer it may write again. */
  drained(): void;
  fail(e: Error): void;
}

/** WriteCallback is what write() calls once a chunk is out, or failed. */
export type WriteCallback = (error?: Error | null) => void;

/** isBodiless tells whether a response to `method` with `status` carries no body (RFC 9110 6.4.1): a HEAD's, a 1xx, 204 or 304. */
export function isBodiless(method: string | undefined, status: number): boolean {
  return method === 'HEAD' || status < 200 || status === 204 || status === 304;
}

type Stage = { readonly hook: HeadHook; readonly filter?: undefined } | { readonly hook?: undefined; readonly filter: BodyFilter };

/** Taken is a connection a handler took over, with what had been written on it before. */
interface Taken {
  readonly socket: Duplex & { bytesWritten?: number };
  readonly before: number;
  readonly status: number | undefined;
}

/**
 * ResponsePipeline runs one response's head hooks and body filters and keeps its Sent
 * record. With no hook or filter, the response class writes past it (`staged` is false).
 */
export class ResponsePipeline implements Sent {
  private stages: Stage[] | undefined;
  private chain: BodyChain | undefined;
  private headAt = 0;
  private endAt = 0;
  private counted = 0;
  private cutByServer = false;
  private left = false;
  private over = false;
  private taken: Taken | undefined;
  private whenSent: (() => void)[] | undefined;
  /** watching: the pipeline listens for the response's end (only once someone needs it: a stage or onSent). */
  private watching = false;
  /** startAt is when the response was made, as the request arrived (performance.now()). */
  readonly startAt = performance.now();

  constructor(private readonly wire: Wire) {}

  /** staged tells whether a hook or filter was registered: then writes go through write() and end(). */
  get staged(): boolean {
    return this.stages !== undefined;
  }

  /** onHead adds a head hook; see Ctx.onHead. */
  onHead(hook: HeadHook): void {
    this.stage({ hook });
  }

  /** filterBody adds a body filter; see Ctx.filterBody. */
  filterBody(filter: BodyFilter): void {
    this.stage({ filter });
  }

  private stage(s: Stage): void {
    if (this.wire.headersSent() || this.taken)
      throw new GateError('GK_RESPONSE_STARTED', 'onHead and filterBody must be called before the response head goes out');
    (this.stages ??= []).push(s);
    this.watch();
  }

  /**
   * watch starts listening for the end of the exchange. Most responses have no stage and no
   * onSent: they pay no listener, and their record is settled when read (see settleIfGone).
   */
  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    this.wire.onceClosed((finished) => this.closed(finished));
  }

  /** settleIfGone settles the record of an unwatched response whose connection let go of it. */
  private settleIfGone(): void {
    if (!this.over && !this.watching && !this.taken && this.wire.gone()) this.closed(this.wire.finishedWrite());
  }

  /**
   * runHead runs the stages innermost first (the reverse of registration), so each sees what
   * those inside it set, and returns the body chain of the filters that took the body. A hook
   * that throws stops the head: nothing went out, and a later head runs every stage again.
   */
  runHead(): BodyChain | undefined {
    const head = this.wire.head;
    const transforms: BodyTransform[] = [];
    const stages = this.stages!;
    for (let i = stages.length - 1; i >= 0; i--) {
      const s = stages[i];
      if (s.hook) {
        s.hook(head);
        continue;
      }
      const t = s.filter(head);
      if (t) transforms.push(t);
    }
    return transforms.length && !this.wire.bodiless() ? new BodyChain(transforms, this) : undefined;
  }

  /**
   * headSent notes that the head went out, with the body chain runHead chose. A protocol that
   * sends the head with the body's first bytes (Node's HTTP/1.1 holds it until then) says
   * `withBody`: the first count() stamps its time, from the clock read the response makes anyway.
   */
  headSent(chain?: BodyChain, withBody = false): void {
    this.headAt = withBody ? -1 : performance.now();
    this.chain = chain;
    if (chain) this.wire.divert(chain);
  }

  /** count adds the body bytes of a chunk handed to the wire, at `at` (performance.now()) when the caller read the clock already. */
  count(chunk: unknown, encoding: unknown, at?: number): void {
    this.counted += byteLength(chunk, encoding);
    if (this.headAt < 0) this.headAt = at ?? performance.now();
  }

  /**
   * writeBody is a kernel response's write(), for every protocol: through the stages when there
   * are any, else straight to the wire, counted. `encoding` may be the callback, as in Node's.
   */
  writeBody(chunk: Chunk, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    if (this.stages) return this.write(chunk, encoding, cb);
    return this.out(chunk, encoding as BufferEncoding | undefined, cb); // the wire is Node's write: it sorts (chunk, cb) out
  }

  /** write takes a piece of the body from the handler (staged responses only). */
  write(chunk: Chunk, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (!this.wire.headersSent()) this.wire.implicitHead();
    if (this.chain) return this.chain.write(chunk, encoding, cb);
    return this.out(chunk, encoding, cb);
  }

  /**
   * end takes the end of the body from the handler (staged responses only). A body given
   * whole before the head gets its Content-Length first, so that hooks and filters see it.
   */
  end(chunk?: Chunk | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): void {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
      encoding = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (!this.wire.headersSent()) {
      const head = this.wire.head;
      if (chunk != null && !this.wire.bodiless() && !head.hasHeader('content-length') && !head.hasHeader('transfer-encoding')) {
        head.setHeader('Content-Length', byteLength(chunk, encoding));
      }
      this.wire.implicitHead();
    }
    const chain = this.chain;
    if (!chain || chain.finished) {
      this.finish(chunk, encoding, cb);
      return;
    }
    if (cb) this.wire.onceFinish(cb);
    if (chain.ending) {
      if (chunk != null) chain.write(chunk, encoding);
      return;
    } // a write after end: the chain fails it
    chain.end(chunk, encoding);
  }

  /** out hands body bytes to the wire, counted. */
  out(chunk: Chunk, encoding?: BufferEncoding, cb?: WriteCallback): boolean {
    const ok = this.wire.write(chunk, encoding, cb);
    this.count(chunk, encoding);
    return ok;
  }

  /** finish ends the response on the wire, with a last chunk, counted. */
  finish(chunk?: Chunk, encoding?: BufferEncoding, cb?: () => void): void {
    this.wire.end(chunk, encoding, cb);
    this.count(chunk, encoding);
  }

  /** held is how many body bytes the filters' streams hold: taken from the handler, not yet handed to the connection. */
  get held(): number {
    return this.chain?.buffered ?? 0;
  }

  /** drained and fail are the chain's way to the wire. */
  drained(): void {
    this.wire.drained();
  }
  fail(e: Error): void {
    this.wire.fail(e);
  }

  /** cut notes that the server itself cut the response (a failure after the head), so the client did not leave it. */
  cut(): void {
    if (!this.over) this.cutByServer = true;
  }

  /** closed ends the record of a response whose connection let go of it, `finished` or not. */
  closed(finished: boolean): void {
    if (this.over || this.taken) return;
    this.left = !finished && !this.cutByServer;
    this.chain?.destroy();
    this.settle();
  }

  /** take notes that a handler took the connection over; the record ends when the connection closes. */
  take(socket: Duplex & { bytesWritten?: number }, status?: number): void {
    this.taken = { socket, before: socket.bytesWritten ?? 0, status };
    if (socket.closed) process.nextTick(() => this.settle());
    else socket.once('close', () => this.settle());
  }

  /** onSent runs `fn` once the record is final (at once when it is). */
  onSent(fn: () => void): void {
    this.settleIfGone();
    if (this.over) {
      fn();
      return;
    }
    (this.whenSent ??= []).push(fn);
    this.watch();
  }

  private settle(): void {
    if (this.over) return;
    this.over = true;
    this.endAt = performance.now();
    const fns = this.whenSent;
    this.whenSent = undefined;
    if (fns) for (const fn of fns) fn();
  }

  get status(): number {
    return this.taken ? (this.taken.status ?? this.wire.head.statusCode) : this.wire.head.statusCode;
  }
  get headerBytes(): number {
    return this.taken ? 0 : this.wire.headerBytes();
  }
  get bodyBytes(): number {
    if (this.taken) return (this.taken.socket.bytesWritten ?? this.taken.before) - this.taken.before;
    return this.wire.bodiless() ? 0 : this.counted;
  }
  get firstByteMs(): number | undefined {
    return this.headAt > 0 ? this.headAt - this.startAt : undefined;
  }
  get totalMs(): number {
    this.settleIfGone();
    return (this.endAt || performance.now()) - this.startAt;
  }
  get clientLeft(): boolean {
    this.settleIfGone();
    return this.left;
  }
  get upgraded(): boolean {
    return this.taken !== undefined;
  }
  get done(): boolean {
    this.settleIfGone();
    return this.over;
  }
}
