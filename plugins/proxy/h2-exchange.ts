import { constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Ctx } from '../../core/index.js';
import { Attempt, UpstreamFailure, type Timeouts } from './attempt.js';
import { pairs, type Responder } from './exchange.js';
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

/** H2Attempt is one exchange on a stream of a pooled HTTP/2 session. */
class H2Attempt extends Attempt {
  private session!: ClientHttp2Session;
  private stream!: ClientHttp2Stream;
  private responded = false;

  constructor(
    ctx: Ctx,
    private readonly up: Upstream,
    private readonly pool: H2SessionPool,
    private readonly spec: H2ExchangeSpec,
    resolve: () => void,
    reject: (e: unknown) => void,
  ) {
    super(ctx, spec.framing, spec.timeouts, resolve, reject);
  }

  start(): void {
    if (!this.watchClient()) return;
    const { session } = this.pool.take();
    this.session = session;
    const headers = h2RequestHeaders({ method: this.spec.method, path: this.spec.path, scheme: this.up.isTls ? 'https' : 'http' }, this.spec.headers);
    try {
      this.stream = session.request(headers, { endStream: this.bodyDone });
    } catch (e) {
      // a session that closed between take() and now, or a header Node refuses
      this.pool.release(session);
      this.cleanup();
      this.done = true;
      this.reject(new UpstreamFailure((e as Error).message, 'connect', false, false, false, true, { cause: e }));
      return;
    }
    this.listen();
    if (this.stream.pending) {
      this.arm('connect');
      this.stream.once('ready', () => this.onConnect());
    } else this.onConnect();
  }

  private listen(): void {
    const s = this.stream;
    s.once('response', (h: IncomingHttpHeaders, flags: number) => this.onResponse(h, flags));
    s.on('trailers', (t: IncomingHttpHeaders) => {
      if (!this.done) this.ctx.res.addTrailers(pairs(flatFields(t)));
    });
    s.on('data', (chunk: Buffer) => {
      if (!this.done) {
        this.timer?.refresh();
        this.forward(chunk);
      }
    });
    s.once('end', () => this.complete());
    s.on('error', (e: Error) => this.fail(e));
    s.once('close', () => {
      this.pool.release(this.session);
      this.reset();
    });
    s.on('drain', () => this.upstreamDrained());
  }

  /** onConnect starts the body once the stream is open. */
  private onConnect(): void {
    if (this.done) return;
    if (this.bodyDone) this.arm('read');
    else this.readBody();
  }

  protected sendBody(chunk: Buffer): void {
    if (chunk.length === 0 || this.done) return;
    this.bodySent = true;
    this.timer?.refresh();
    if (!this.stream.write(chunk)) this.ctx.body.pause(); // resumed on the stream's drain
  }

  protected endBody(): void {
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

  /** reset fails a stream that closed without ending: reset by the upstream, or its session gone. */
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
    if (!this.responded || reset) {
      this.reset();
      return;
    }
    this.cleanup();
    this.done = true;
    if (!this.bodyDone) this.ctx.body.resume(); // the upstream answered early: read and drop the rest
    this.ctx.res.end();
    this.resolve();
  }

  protected pauseUpstream(): void {
    this.stream.pause();
  }
  protected resumeUpstream(): void {
    this.stream.resume();
  }

  /** waitingOnClient: a stream the client keeps open (a gRPC client stream) waits on the client, not the upstream. */
  protected waitingOnClient(): boolean {
    if (this.phase === 'send') return !this.stream.writableNeedDrain;
    return this.phase === 'read' && (this.waitingDrain || !this.bodyDone);
  }

  protected failure(e: Error, timeout: boolean): UpstreamFailure {
    const refused = RETRY_CODES.has(this.stream.rstCode ?? -1) && !this.responded;
    return new UpstreamFailure(e.message, this.phase, timeout, this.responded, this.bodySent, refused, { cause: e });
  }

  /** closeUpstream cancels the stream, so the upstream stops its work (a gRPC call sees itself cancelled). */
  protected closeUpstream(): void {
    if (!this.stream.closed) this.stream.close(constants.NGHTTP2_CANCEL);
  }
}
