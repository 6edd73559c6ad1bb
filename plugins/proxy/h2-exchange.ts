import { constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { HttpError, type Ctx } from '../../core/index.js';
import { pairs, UpstreamFailure, type Phase, type Responder, type Timeouts } from './exchange.js';
import type { RequestFraming } from './framing.js';
import { flatFields, h2RequestHeaders } from './h2-headers.js';
import type { H2SessionPool } from './h2-sessions.js';
import type { Upstream } from './upstream.js';

/** H2ExchangeSpec is one attempt on an HTTP/2 upstream: the request line, the headers the proxy built, the body's framing, the limits. */
export interface H2ExchangeSpec {
  readonly method: string;
  readonly path: string;
  /** headers are flat name, value pairs, as for an HTTP/1.1 upstream (requestHeaders): h2RequestHeaders adapts them. */
  readonly headers: readonly string[];
  readonly framing: RequestFraming;
  readonly timeouts: Timeouts;
  readonly responder: Responder;
}

/**
 * exchangeH2 sends one request to an HTTP/2 upstream (h2c:// or h2://) on a stream of a pooled
 * session, and streams the answer to the client, both ways with backpressure, trailers
 * included: what gRPC needs to pass through.
 */
export function exchangeH2(ctx: Ctx, up: Upstream, pool: H2SessionPool, spec: H2ExchangeSpec): Promise<void> {
  return new Promise((resolve, reject) => new H2Attempt(ctx, up, pool, spec, resolve, reject).start());
}

/** RETRY_CODES are the stream resets that say the upstream did not process the request (RFC 9113 8.7): safe to send again. */
const RETRY_CODES = new Set([constants.NGHTTP2_REFUSED_STREAM]);

/** H2Attempt is one HTTP/2 exchange's state; every path out of it goes through complete(), fail(), broken() or clientGone() once. */
class H2Attempt {
  private session!: ClientHttp2Session;
  private stream!: ClientHttp2Stream;
  private phase: Phase = 'connect';
  private timer: NodeJS.Timeout | undefined;
  private bodySent = false;
  private bodyDone: boolean;
  private responded = false;
  private waitingDrain = false;
  private done = false;
  private readonly onClientClose = (): void => { if (!this.ctx.res.writableFinished) this.clientGone(); };
  private readonly onBodyData = (chunk: Buffer): void => this.sendBody(chunk);
  private readonly onBodyEnd = (): void => this.endBody();
  private readonly onBodyError = (e: Error): void => {
    if (e instanceof HttpError || !(this.ctx.req.destroyed || this.ctx.res.destroyed)) this.broken(e);
    else this.clientGone();
  };
  private readonly onUpstreamDrain = (): void => { if (!this.done && !this.bodyDone) { this.timer?.refresh(); this.ctx.body.resume(); } };
  private readonly onClientDrain = (): void => { this.waitingDrain = false; if (!this.done) this.stream.resume(); };

  constructor(
    private readonly ctx: Ctx,
    private readonly up: Upstream,
    private readonly pool: H2SessionPool,
    private readonly spec: H2ExchangeSpec,
    private readonly resolve: () => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.bodyDone = spec.framing.body === 'none';
  }

  start(): void {
    if (this.ctx.res.destroyed) { this.done = true; this.reject(new HttpError(499, 'Client Closed Request')); return; }
    const { session } = this.pool.take();
    this.session = session;
    const headers = h2RequestHeaders({ method: this.spec.method, path: this.spec.path, scheme: this.up.isTls ? 'https' : 'http' }, this.spec.headers);
    try {
      this.stream = session.request(headers, { endStream: this.bodyDone });
    } catch (e) { // a session that closed between take() and now, or a header Node refuses
      this.pool.release(session);
      this.done = true;
      this.reject(new UpstreamFailure((e as Error).message, 'connect', false, false, false, true, { cause: e }));
      return;
    }
    this.listen();
    this.ctx.res.on('close', this.onClientClose);
    if (this.stream.pending) { this.arm('connect'); this.stream.once('ready', () => this.onConnect()); }
    else this.onConnect();
  }

  private listen(): void {
    const s = this.stream;
    s.once('response', (h: IncomingHttpHeaders, flags: number) => this.onResponse(h, flags));
    s.on('trailers', (t: IncomingHttpHeaders) => { if (!this.done) this.ctx.res.addTrailers(pairs(flatFields(t))); });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.once('end', () => this.complete());
    s.on('error', (e: Error) => this.fail(e));
    s.once('close', () => this.onClose());
    s.on('drain', this.onUpstreamDrain);
  }

  /** onConnect starts the body, read from the client only now, so a failed connect can be retried with it. */
  private onConnect(): void {
    if (this.done) return;
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
    if (chunk.length === 0 || this.done) return;
    this.bodySent = true;
    this.timer?.refresh();
    if (!this.stream.write(chunk)) this.ctx.body.pause(); // resumed on the stream's drain
  }

  private endBody(): void {
    if (this.done) return;
    this.stream.end();
    this.bodyDone = true;
    if (this.phase === 'send') this.arm('read');
  }

  private onResponse(h: IncomingHttpHeaders, flags: number): void {
    if (this.done) return;
    this.responded = true;
    this.arm('read');
    const status = Number(h[':status']);
    this.ctx.vars.set('upstream_status', String(status));
    // a response that ends with its headers (gRPC's trailers-only answer) goes on as one, its fields in the head
    const ended = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    this.spec.responder.head(this.ctx, { statusCode: status, statusMessage: '', rawHeaders: flatFields(h) }, this.up, ended);
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.timer?.refresh();
    if (this.ctx.res.write(chunk) || this.waitingDrain) return;
    this.waitingDrain = true;
    this.stream.pause();
    this.ctx.res.once('drain', this.onClientDrain);
  }

  /** onClose catches a stream that closed without ending: reset by the upstream, or its session gone. */
  private onClose(): void {
    this.pool.release(this.session);
    this.reset();
  }

  private reset(): void {
    if (this.done) return;
    const code = this.stream.rstCode ?? constants.NGHTTP2_INTERNAL_ERROR;
    const e = new Error(`upstream reset the stream (HTTP/2 error code ${code})`);
    (e as NodeJS.ErrnoException).code = 'ECONNRESET';
    this.fail(e);
  }

  /** complete ends the client's response once the upstream's ended, trailers passed on. */
  private complete(): void {
    if (this.done) return;
    // Node ends the readable side of a reset stream too: a reset is not an end
    const reset = (this.stream.rstCode ?? constants.NGHTTP2_NO_ERROR) !== constants.NGHTTP2_NO_ERROR;
    if (!this.responded || reset) { this.reset(); return; }
    this.cleanup();
    this.done = true;
    if (!this.bodyDone) this.ctx.body.resume(); // the upstream answered early: read and drop the rest
    this.ctx.res.end();
    this.resolve();
  }

  private arm(phase: Phase): void {
    this.phase = phase;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(), this.spec.timeouts[phase]);
  }

  /** onTimer fires after a quiet period; a stall that is the client's doing (slow reader, a stream it keeps open) is not the upstream's. */
  private onTimer(): void {
    if (this.done) return;
    const waitingOnClient = this.phase === 'send' ? !this.stream.writableNeedDrain
      : this.phase === 'read' && (this.waitingDrain || !this.bodyDone);
    if (waitingOnClient) { this.timer?.refresh(); return; }
    const e = new Error(`upstream timed out (${this.phase})`);
    (e as NodeJS.ErrnoException).code = 'ETIMEDOUT';
    this.fail(e, true);
  }

  private fail(e: Error, timeout = false): void {
    if (this.done) return;
    const refused = RETRY_CODES.has(this.stream.rstCode ?? -1) && !this.responded;
    const f = new UpstreamFailure(e.message, this.phase, timeout, this.responded, this.bodySent, refused, { cause: e });
    this.end();
    this.reject(f);
  }

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

  /** end stops a failed exchange: timers, listeners, and the stream (cancelled, so the upstream stops its work). */
  private end(): void {
    this.cleanup(true);
    this.done = true;
    if (!this.stream.closed) this.stream.close(constants.NGHTTP2_CANCEL);
  }

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
