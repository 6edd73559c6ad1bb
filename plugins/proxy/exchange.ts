import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { HttpError, type Ctx } from '../../core/index.js';
import type { Upstream, UpstreamRequest } from './upstream.js';

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
  head(ctx: Ctx, res: IncomingMessage): void;
  upgrade(ctx: Ctx, res: IncomingMessage, socket: Socket, head: Buffer): void;
}

/** ExchangeSpec is one attempt: the request, whether the client sends a body, and the limits. */
export interface ExchangeSpec {
  readonly request: UpstreamRequest;
  readonly hasBody: boolean;
  readonly timeouts: Timeouts;
  readonly responder: Responder;
}

/** exchange sends one request to `up` and streams the answer to the client, both ways with backpressure. */
export function exchange(ctx: Ctx, up: Upstream, spec: ExchangeSpec): Promise<void> {
  return new Promise((resolve, reject) => new Attempt(ctx, up, spec, resolve, reject).start());
}

const STALE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** Attempt is one exchange's state; every path out of it goes through finish() once. */
class Attempt {
  private upReq!: ClientRequest;
  private upRes: IncomingMessage | undefined;
  private phase: Phase = 'connect';
  private timer: NodeJS.Timeout | undefined;
  private bodySent = false;
  private done = false;
  private readonly onClientClose = (): void => { if (!this.ctx.res.writableFinished) this.clientGone(); };
  private readonly onBodyData = (): void => { this.bodySent = true; this.timer?.refresh(); };
  private readonly onBodyEnd = (): void => {
    const t = this.ctx.req.trailers;
    if (t && Object.keys(t).length && this.upReq.chunkedEncoding) this.upReq.addTrailers(t);
  };

  constructor(
    private readonly ctx: Ctx,
    private readonly up: Upstream,
    private readonly spec: ExchangeSpec,
    private readonly resolve: () => void,
    private readonly reject: (e: unknown) => void,
  ) {}

  start(): void {
    const upReq = (this.upReq = this.up.request(this.spec.request));
    this.arm('connect');
    upReq.on('socket', (s: Socket) => this.onSocket(s));
    upReq.on('response', (r) => this.onResponse(r));
    upReq.on('upgrade', (r, s: Socket, h: Buffer) => this.onUpgrade(r, s, h));
    upReq.on('error', (e) => this.fail(e));
    this.ctx.res.on('close', this.onClientClose);
    if (!this.spec.hasBody) upReq.end();
  }

  private onSocket(s: Socket): void {
    if (this.upReq.reusedSocket) { this.connected(); return; }
    s.once(this.up.isTls ? 'secureConnect' : 'connect', () => this.connected());
  }

  /** connected starts the body (deferred until now so a failed connect can be retried with it). */
  private connected(): void {
    if (this.done) return;
    if (!this.spec.hasBody) { this.arm('read'); return; }
    this.arm('send');
    const src = this.ctx.body;
    src.on('data', this.onBodyData);
    src.once('end', this.onBodyEnd);
    this.upReq.on('drain', () => this.timer?.refresh());
    this.upReq.once('finish', () => { if (this.phase === 'send') this.arm('read'); });
    src.pipe(this.upReq);
  }

  private onResponse(res: IncomingMessage): void {
    if (this.done) { res.destroy(); return; }
    this.upRes = res;
    this.arm('read');
    this.spec.responder.head(this.ctx, res);
    res.on('data', () => this.timer?.refresh());
    res.once('end', () => {
      if (res.rawTrailers.length) this.ctx.res.addTrailers(pairs(res.rawTrailers));
    });
    res.on('error', (e) => this.fail(e));
    this.ctx.res.once('finish', () => this.finish());
    res.pipe(this.ctx.res);
  }

  private onUpgrade(res: IncomingMessage, socket: Socket, head: Buffer): void {
    if (this.done || !this.ctx.upgrade) { socket.destroy(); return; }
    this.cleanup();
    this.done = true;
    this.spec.responder.upgrade(this.ctx, res, socket, head);
    this.resolve();
  }

  /** arm (re)starts the watchdog for a phase: connect, send (upstream not taking the body) or read. */
  private arm(phase: Phase): void {
    this.phase = phase;
    clearTimeout(this.timer);
    const ms = this.spec.timeouts[phase];
    this.timer = setTimeout(() => this.onTimer(), ms);
  }

  /** onTimer fires after a quiet period; a stall that is the client's doing (slow reader, slow sender) is not the upstream's. */
  private onTimer(): void {
    if (this.done) return;
    const waitingOnClient = this.phase === 'send' ? !this.upReq.writableNeedDrain
      : this.phase === 'read' && (this.upRes ? this.upRes.readableFlowing === false : !this.upReq.writableFinished);
    if (waitingOnClient) { this.timer?.refresh(); return; }
    const e = new Error(`upstream timed out (${this.phase})`);
    (e as NodeJS.ErrnoException).code = 'ETIMEDOUT';
    this.fail(e, true);
  }

  private fail(e: Error, timeout = false): void {
    if (this.done) return;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const stale = this.upReq.reusedSocket && !this.upRes && !timeout && STALE_CODES.has(code);
    const f = new UpstreamFailure(e.message, this.phase, timeout, this.upRes !== undefined, this.bodySent, stale, { cause: e });
    this.end();
    this.reject(f);
  }

  private clientGone(): void {
    if (this.done) return;
    this.end();
    this.reject(new HttpError(499, 'Client Closed Request'));
  }

  private finish(): void {
    if (this.done) return;
    this.cleanup();
    this.done = true;
    this.resolve();
  }

  /** end stops the exchange: timers, listeners, and the upstream request (aborted if unfinished). */
  private end(): void {
    this.cleanup(true);
    this.done = true;
    if (this.upRes && !this.upRes.complete) this.upRes.destroy();
    if (!this.upRes?.complete) this.upReq.destroy();
  }

  /** cleanup drops timers and listeners; after a failure, an untouched client body is paused for a retry. */
  private cleanup(failed = false): void {
    clearTimeout(this.timer);
    this.ctx.res.off('close', this.onClientClose);
    if (!this.spec.hasBody) return;
    const src = this.ctx.body;
    src.off('data', this.onBodyData);
    src.off('end', this.onBodyEnd);
    if (failed) {
      src.unpipe(this.upReq);
      if (!this.bodySent) src.pause();
    }
  }
}

/** pairs turns flat raw trailers into the [name, value] list addTrailers takes. */
function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}
