import type { Socket } from 'node:net';
import type { Ctx } from '../../core/index.js';
import { Attempt, UpstreamFailure, type Timeouts } from './attempt.js';
import type { Conn, ConnUser } from './connection.js';
import { lastChunk, type RequestFraming } from './framing.js';
import { ResponseParser, type UpstreamHead } from './response-parser.js';
import type { Upstream } from './upstream.js';

export { UpstreamFailure, type Phase, type Timeouts } from './attempt.js';

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
  return new Promise((resolve, reject) => new H1Attempt(ctx, up, spec, resolve, reject).start());
}

const STALE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** H1Attempt is one exchange on an HTTP/1.1 connection of the pool. */
class H1Attempt extends Attempt implements ConnUser {
  private conn!: Conn;
  private readonly parser: ResponseParser;
  /** left is how many bytes of a Content-Length body are still to send. */
  private left: number;
  private heard = false;

  constructor(
    ctx: Ctx,
    private readonly up: Upstream,
    private readonly spec: ExchangeSpec,
    resolve: () => void,
    reject: (e: unknown) => void,
  ) {
    super(ctx, spec.framing, spec.timeouts, resolve, reject);
    this.left = spec.framing.length ?? 0;
    this.parser = new ResponseParser({
      head: (h) => this.onHead(h),
      interim: (h) => this.onInterim(h),
      body: (chunk) => this.forward(chunk),
      trailers: (raw) => this.ctx.res.addTrailers(pairs(raw)),
    });
    this.parser.expect(spec.method);
  }

  start(): void {
    if (!this.watchClient()) return;
    this.conn = this.up.pool.take(this, this.spec.upgrade);
    if (this.conn.connecting) this.arm('connect');
    else this.onConnect();
  }

  /** onConnect sends the head, then the body. */
  onConnect(): void {
    if (this.done) return;
    this.conn.socket.write(this.spec.head, 'latin1');
    if (this.bodyDone) this.arm('read');
    else this.readBody();
  }

  protected sendBody(chunk: Buffer): void {
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

  protected endBody(): void {
    if (this.done) return;
    if (this.spec.framing.body === 'chunked') this.conn.socket.write(lastChunk(this.ctx.req.rawTrailers), 'latin1');
    else if (this.left > 0) {
      this.broken(new Error('the request body ended before its Content-Length'));
      return;
    }
    this.bodyDone = true;
    if (this.phase === 'send') this.arm('read');
  }

  onDrain(): void {
    this.upstreamDrained();
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

  protected pauseUpstream(): void {
    this.conn.socket.pause();
  }
  protected resumeUpstream(): void {
    this.conn.socket.resume();
  }

  onEnd(): void {
    if (this.done) return;
    if (this.parser.end()) {
      this.complete(false);
      return;
    }
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
    if (!this.spec.upgrade) {
      this.fail(new Error('upstream switched protocols on a request that asked for no upgrade'));
      return;
    }
    this.cleanup();
    this.done = true;
    this.spec.responder.upgrade(this.ctx, head, this.conn.detach(), rest);
    this.resolve();
  }

  protected waitingOnClient(): boolean {
    if (this.phase === 'send') return !this.conn.socket.writableNeedDrain;
    return this.phase === 'read' && (this.parser.head ? this.waitingDrain : !this.bodyDone);
  }

  protected failure(e: Error, timeout: boolean): UpstreamFailure {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const stale = this.conn.reused && !this.heard && !timeout && STALE_CODES.has(code);
    const responded = this.parser.head !== undefined && !this.parser.upgraded;
    return new UpstreamFailure(e.message, this.phase, timeout, responded, this.bodySent, stale, { cause: e });
  }

  protected closeUpstream(): void {
    this.conn.destroy();
  }
}

/** pairs turns flat raw fields (trailers) into the [name, value] list addTrailers takes. */
export function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}
