import type { Socket } from 'node:net';
import { HttpError, type Ctx } from '../../core/index.js';
import type { Conn, ConnUser } from './connection.js';
import { lastChunk, type RequestFraming } from './framing.js';
import { ResponseParser, type UpstreamHead } from './response-parser.js';
import type { Upstream } from './upstream.js';

/** Timeouts bound each wait on an upstream, in ms (nginx's proxy_*_timeout meaning). */
export interface Timeouts {
  readonly connect: number;
  readonly read: number;
  readonly send: number;
}

/** Phase is where an exchange stands: connecting, sending the body, or reading the response. */
export type Phase = 'connect' | 'send' | 'read';

/** UpstreamFailure is an exchange that failed on the upstream's side; the handler decides on retries. */
export class UpstreamFailure extends Error {
  constructor(
    message: string,
    readonly phase: Phase,
    /** timeout is true when a timer, not the network, ended it (504 rather than 502). */
    readonly timeout: boolean,
    /** responded is true once response headers came: nothing can be retried then. */
    readonly responded: boolean,
    /** bodySent is true once any request body byte was read from the client: it cannot be replayed. */
    readonly bodySent: boolean,
    /** stale is true for a pooled connection the upstream had closed: safe to retry. */
    readonly stale: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamFailure';
  }
}

/** Responder writes an upstream's response head to the client, or takes over an upgrade. */
export interface Responder {
  /** head passes the upstream's head on; `ended` says the response has no body and no trailers (it is sent with the end). */
  head(ctx: Ctx, head: UpstreamHead, up: Upstream, ended?: boolean): void;
  upgrade(ctx: Ctx, head: UpstreamHead, socket: Socket, rest: Buffer): void;
}

/** ExchangeSpec is one attempt: the request head, whether the client sends a body (and how), and the limits. */
export interface ExchangeSpec {
  /** head is the serialized request line and headers, blank line included. */
  readonly head: string;
  readonly method: string;
  /** framing is how the body goes upstream, as the head says: the exchange sends exactly that. */
  readonly framing: RequestFraming;
  /** upgrade is true for an Upgrade request: it gets a connection of its own that leaves the pool. */
  readonly upgrade: boolean;
  readonly timeouts: Timeouts;
  readonly responder: Responder;
}

/** exchange sends one request to `up` and streams the answer to the client, both ways with backpressure. */
export function exchange(ctx: Ctx, up: Upstream, spec: ExchangeSpec): Promise<void> {
  return new Promise((resolve, reject) => new Attempt(ctx, up, spec, resolve, reject).start());
}

const STALE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** Attempt is one exchange's state; every path out of it goes through complete(), fail(), broken() or clientGone() once. */
class Attempt implements ConnUser {
  private conn!: Conn;
  private readonly parser: ResponseParser;
  private phase: Phase = 'connect';
  private timer: NodeJS.Timeout | undefined;
  /** bodySent: a request body byte was read from the client (the request cannot be replayed). */
  private bodySent = false;
  /** bodyDone: the whole request is written upstream. */
  private bodyDone: boolean;
  /** left is how many bytes of a Content-Length body are still to send. */
  private left: number;
  private heard = false;
  private waitingDrain = false;
  private done = false;
  private readonly onClientClose = (): void => { if (!this.ctx.res.writableFinished) this.clientGone(); };
  private readonly onBodyData = (chunk: Buffer): void => this.sendBody(chunk);
  private readonly onBodyEnd = (): void => this.endBody();
  /** onBodyError: the client's body failed: a limit passed (its HttpError is the answer), or the client left. */
  private readonly onBodyError = (e: Error): void => {
    if (e instanceof HttpError || !(this.ctx.req.destroyed || this.ctx.res.destroyed)) this.broken(e);
    else this.clientGone();
  };
  private readonly onClientDrain = (): void => {
    this.waitingDrain = false;
    if (!this.done) this.conn.socket.resume();
  };

  constructor(
    private readonly ctx: Ctx,
    private readonly up: Upstream,
    private readonly spec: ExchangeSpec,
    private readonly resolve: () => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.bodyDone = spec.framing.body === 'none';
    this.left = spec.framing.length ?? 0;
    this.parser = new ResponseParser({
      head: (h) => this.onHead(h),
      interim: (h) => this.onInterim(h),
      body: (chunk) => this.onBody(chunk),
      trailers: (raw) => this.ctx.res.addTrailers(pairs(raw)),
    });
    this.parser.expect(spec.method);
  }

  start(): void {
    // a client that left before the proxy began (during a slow middleware) has had its 'close'
    if (this.ctx.res.destroyed) { this.done = true; this.reject(new HttpError(499, 'Client Closed Request')); return; }
    this.conn = this.up.pool.take(this, this.spec.upgrade);
    this.ctx.res.on('close', this.onClientClose);
    if (this.conn.connecting) this.arm('connect');
    else this.onConnect();
  }

  /** onConnect sends the head, then the body (read from the client only now, so a failed connect can be retried with it). */
  onConnect(): void {
    if (this.done) return;
    const s = this.conn.socket;
    s.write(this.spec.head, 'latin1');
    if (this.bodyDone) { this.arm('read'); return; }
    this.arm('send');
    const src = this.ctx.body;
    if (src.destroyed) { this.onBodyError(src.errored ?? new Error('the request body ended before it was read')); return; }
    src.on('data', this.onBodyData);
    src.once('end', this.onBodyEnd);
    src.once('error', this.onBodyError);
    src.resume();
  }

  private sendBody(chunk: Buffer): void {
    if (chunk.length === 0) return; // an empty chunk would end a chunked body
    this.bodySent = true;
    this.timer?.refresh();
    const s = this.conn.socket;
    let ok: boolean;
    if (this.spec.framing.body === 'chunked') {
      s.cork();
      s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      s.write(chunk);
      ok = s.write('\r\n', 'latin1');
      s.uncork();
    } else if (chunk.length > this.left) {
      this.broken(new Error('the request body ran past its Content-Length'));
      return;
    } else {
      this.left -= chunk.length;
      ok = s.write(chunk);
    }
    if (!ok) this.ctx.body.pause(); // resumed on the upstream's drain
  }

  private endBody(): void {
    if (this.done) return;
    if (this.spec.framing.body === 'chunked') this.conn.socket.write(lastChunk(this.ctx.req.rawTrailers), 'latin1');
    else if (this.left > 0) { this.broken(new Error('the request body ended before its Content-Length')); return; }
    this.bodyDone = true;
    if (this.phase === 'send') this.arm('read');
  }

  onDrain(): void {
    if (this.done || this.bodyDone) return;
    this.timer?.refresh();
    this.ctx.body.resume();
  }

  onData(data: Buffer): void {
    if (this.done) return;
    this.heard = true;
    this.timer?.refresh();
    let rest: Buffer | undefined;
    try {
      rest = this.parser.feed(data);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    if (rest === undefined || this.done) return;
    if (this.parser.upgraded) this.upgraded(rest);
    else this.complete(rest.length === 0);
  }

  private onHead(h: UpstreamHead): void {
    if (h.statusCode === 101) return; // handled once feed returns the bytes past the head
    this.arm('read');
    this.ctx.vars.set('upstream_status', String(h.statusCode));
    this.spec.responder.head(this.ctx, h, this.up);
  }

  /** onInterim passes 103 Early Hints on (their Link headers), to clients that can take a 1xx answer. */
  private onInterim(h: UpstreamHead): void {
    const req = this.ctx.req;
    if (h.statusCode !== 103 || this.ctx.res.headersSent || req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return;
    const links: string[] = [];
    for (let i = 0; i < h.rawHeaders.length; i += 2) if (h.rawHeaders[i].toLowerCase() === 'link') links.push(h.rawHeaders[i + 1]);
    if (links.length) this.ctx.res.writeEarlyHints({ link: links });
  }

  private onBody(chunk: Buffer): void {
    if (this.ctx.res.write(chunk) || this.waitingDrain) return;
    this.waitingDrain = true;
    this.conn.socket.pause();
    this.ctx.res.once('drain', this.onClientDrain);
  }

  onEnd(): void {
    if (this.done) return;
    if (this.parser.end()) { this.complete(false); return; }
    const e = new Error(this.parser.head ? 'upstream closed the connection mid-response' : 'upstream closed the connection before responding');
    (e as NodeJS.ErrnoException).code = 'ECONNRESET';
    this.fail(e);
  }

  onError(e: Error): void {
    this.fail(e);
  }

  /** complete ends the client's response; the connection goes back to the pool when it can carry another request. */
  private complete(clean: boolean): void {
    this.cleanup();
    this.done = true;
    const conn = this.conn;
    if (!this.bodyDone) this.ctx.body.resume(); // the upstream answered early: read and drop the rest, so the client's connection can go on
    if (clean && this.parser.keepAlive && this.bodyDone && !this.spec.upgrade && this.up.pool.reuses) this.up.pool.give(conn);
    else conn.destroy();
    this.ctx.res.end();
    this.resolve();
  }

  private upgraded(rest: Buffer): void {
    const head = this.parser.head!;
    if (!this.spec.upgrade) { this.fail(new Error('upstream switched protocols on a request that asked for no upgrade')); return; }
    this.cleanup();
    this.done = true;
    this.spec.responder.upgrade(this.ctx, head, this.conn.detach(), rest);
    this.resolve();
  }

  /** arm (re)starts the watchdog for a phase: connect, send (upstream not taking the body) or read. */
  private arm(phase: Phase): void {
    this.phase = phase;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(), this.spec.timeouts[phase]);
  }

  /** onTimer fires after a quiet period; a stall that is the client's doing (slow reader, slow sender) is not the upstream's. */
  private onTimer(): void {
    if (this.done) return;
    const waitingOnClient = this.phase === 'send' ? !this.conn.socket.writableNeedDrain
      : this.phase === 'read' && (this.parser.head ? this.waitingDrain : !this.bodyDone);
    if (waitingOnClient) { this.timer?.refresh(); return; }
    const e = new Error(`upstream timed out (${this.phase})`);
    (e as NodeJS.ErrnoException).code = 'ETIMEDOUT';
    this.fail(e, true);
  }

  private fail(e: Error, timeout = false): void {
    if (this.done) return;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const stale = this.conn.reused && !this.heard && !timeout && STALE_CODES.has(code);
    const responded = this.parser.head !== undefined && !this.parser.upgraded;
    const f = new UpstreamFailure(e.message, this.phase, timeout, responded, this.bodySent, stale, { cause: e });
    this.end();
    this.reject(f);
  }

  /**
   * broken stops an exchange whose request body failed, or does not match the framing sent
   * (a body stream that ran long or short): the upstream connection goes, half a request on
   * it, and the request fails with the body's error.
   */
  private broken(e: Error): void {
    if (this.done) return;
    this.end();
    this.reject(e);
  }

  private clientGone(): void {
    if (this.done) return;
    this.end();
    this.reject(new HttpError(499, 'Client Closed Request'));
  }

  /** end stops a failed exchange: timers, listeners, and the upstream connection. */
  private end(): void {
    this.cleanup(true);
    this.done = true;
    this.conn.destroy();
  }

  /** cleanup drops timers and listeners; after a failure, an untouched client body is paused for a retry. */
  private cleanup(failed = false): void {
    if (this.timer) clearTimeout(this.timer);
    this.ctx.res.off('close', this.onClientClose);
    if (this.waitingDrain) this.ctx.res.off('drain', this.onClientDrain);
    if (this.spec.framing.body === 'none') return;
    const src = this.ctx.body;
    src.off('data', this.onBodyData);
    src.off('end', this.onBodyEnd);
    src.off('error', this.onBodyError);
    if (failed && !this.bodySent) src.pause();
  }
}

/** pairs turns flat raw fields (trailers) into the [name, value] list addTrailers takes. */
export function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}
