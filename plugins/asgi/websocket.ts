import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { HttpError, type Ctx, type Logger } from '../../core/index.js';
import { HTTP_FRAME, LINK_FRAME, PoolStream, type Link, type PoolLinks } from '../../lib/index.js';
import { headPayload, nulFields } from './scope.js';
import { WS_FRAME } from './settings.js';

/** WS_HIGH is how many bytes ws may hold for a slow client before the application's sends are paused. */
const WS_HIGH = 1 << 20;

/** Handshake is what the application chose in websocket.accept. */
interface Handshake {
  readonly subprotocol: string;
  readonly headers: readonly string[];
}

/**
 * WebSockets serves the WebSockets of one `asgi` route, each as a stream of a link (like an
 * HTTP request), and accepts the upgrades with `ws` once the application said
 * websocket.accept, with the subprotocol and headers it chose.
 */
export class WebSockets {
  private readonly pending = new WeakMap<IncomingMessage, Handshake>();
  readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (_offered, req) => this.pending.get(req)?.subprotocol || false,
  });

  constructor(
    readonly links: PoolLinks,
    readonly timeout: number,
    readonly log: Logger,
  ) {
    this.wss.on('headers', (headers, req) => {
      const h = this.pending.get(req)?.headers ?? [];
      for (let i = 0; i + 1 < h.length; i += 2) headers.push(`${h[i]}: ${h[i + 1]}`);
    });
  }

  /**
   * serve runs one WebSocket through the pool: the application gets websocket.connect, and
   * may accept (the upgrade completes) or close (403); then messages flow both ways until
   * either side closes, the other getting websocket.disconnect or a close frame, with
   * backpressure both ways (PAUSE/RESUME of the stream, ws.pause() of the client). An
   * application exception is 500 before the accept, a close with 1011 after it.
   */
  serve(ctx: Ctx): Promise<void> {
    return new WsStream(ctx, this).run();
  }

  /** handshake records the application's choice for the upgrade of `req`. */
  handshake(req: IncomingMessage, h: Handshake): void {
    this.pending.set(req, h);
  }

  /** close releases the ws server (not the sockets it handed over). */
  close(): void {
    this.wss.close();
  }
}

/** WsStream is one WebSocket carried by a stream of a link. */
class WsStream extends PoolStream {
  private ws: WebSocket | undefined;
  private settled = false;
  private ended = false;
  private pausedOut = false;
  private resolve!: () => void;
  private reject!: (e: HttpError) => void;
  private readonly sent = (): void => this.maybeResume();

  constructor(
    private readonly ctx: Ctx,
    private readonly sockets: WebSockets,
  ) {
    super();
  }

  get mayWait(): boolean {
    return false;
  }

  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      const raw = this.ctx.upgrade!.socket;
      raw.on('close', () => {
        if (!this.ws) this.clientGone();
      });
      this.sockets.links.submit(this);
    });
  }

  opened(link: Link, id: number): void {
    link.out.text(HTTP_FRAME.head, id, headPayload(this.ctx, true), '0\0');
    this.sockets.links.running.add(this, this.sockets.timeout);
  }

  frame(kind: number, payload: Buffer): void {
    if (kind === HTTP_FRAME.finish || kind === HTTP_FRAME.error) this.ended = true;
    if (this.settled && kind !== HTTP_FRAME.error) return;
    const ws = this.ws;
    switch (kind) {
      case WS_FRAME.accept:
        if (!ws) this.accept(payload);
        return;
      case WS_FRAME.text:
        ws?.send(payload.toString('utf8'), this.sent);
        return this.checkBuffered();
      case WS_FRAME.bytes:
        ws?.send(payload, { binary: true }, this.sent);
        return this.checkBuffered();
      case WS_FRAME.close:
        if (!ws) return this.fail(new HttpError(403));
        ws.close(payload.readUInt16BE(0), payload.subarray(2).toString('utf8'));
        return;
      case HTTP_FRAME.error:
        return this.failed(payload.toString('utf8'));
      case HTTP_FRAME.finish:
        if (!ws) this.fail(new HttpError(500, 'the asgi application returned without accepting or closing the WebSocket'));
        return;
      case LINK_FRAME.pause:
        ws?.pause();
        return;
      case LINK_FRAME.resume:
        ws?.resume();
        return;
      default:
        return this.failed(`the asgi worker sent an unknown frame 0x${kind.toString(16)}`, 502);
    }
  }

  data(): void {
    /* no streamed data in a WebSocket */
  }

  lost(): void {
    this.ended = true;
    if (this.ws ? this.ws.readyState === WebSocket.OPEN : !this.settled) this.failed('the asgi worker closed the connection', 502);
  }

  drained(): void {
    /* no request body */
  }

  refused(e: HttpError): void {
    this.fail(e);
  }

  expired(): void {
    if (this.ws) return;
    this.link!.stall();
    this.fail(new HttpError(504, `the asgi application neither accepted nor closed the WebSocket within ${this.sockets.timeout}ms`));
  }

  back(): boolean {
    if (this.settled || this.ws) return false;
    this.sockets.links.running.remove(this);
    this.link = undefined;
    this.id = 0;
    return true;
  }

  private accept(payload: Buffer): void {
    this.sockets.links.running.remove(this);
    const [subprotocol, ...headers] = nulFields(payload);
    const ctx = this.ctx;
    this.sockets.handshake(ctx.req, { subprotocol, headers });
    const up = ctx.takeUpgrade();
    this.sockets.wss.handleUpgrade(ctx.req, up.socket, up.head, (w) => {
      this.ws = w;
      w.on('message', (data: Buffer, binary: boolean) => {
        if (!this.ended) this.link!.out.frame(binary ? WS_FRAME.bytes : WS_FRAME.text, this.id, data);
      });
      w.on('close', (code: number, reason: Buffer) => {
        if (!this.ended) this.link!.out.frame(WS_FRAME.close, this.id, Buffer.concat([u16(code), reason]));
        this.done();
      });
      w.on('error', () => w.terminate());
    });
  }

  /** checkBuffered asks the worker to PAUSE this WebSocket's sends while ws holds too much for the client. */
  private checkBuffered(): void {
    if (this.pausedOut || this.ended || (this.ws?.bufferedAmount ?? 0) <= WS_HIGH) return;
    this.pausedOut = true;
    this.link!.out.frame(LINK_FRAME.pause, this.id);
  }

  private maybeResume(): void {
    if (!this.pausedOut || this.ended || (this.ws?.bufferedAmount ?? 0) > WS_HIGH / 2) return;
    this.pausedOut = false;
    this.link!.out.frame(LINK_FRAME.resume, this.id);
  }

  /** failed: the application raised (or the worker failed): 500 (or `status`) before the accept, a close with 1011 after it. */
  private failed(why: string, status = 500): void {
    const ws = this.ws;
    if (!ws) {
      if (!this.settled) this.fail(new HttpError(status, status === 500 ? 'asgi websocket application failed' : why, { cause: new Error(why) }));
      return;
    }
    this.sockets.log.error(status === 500 ? 'asgi websocket application raised an exception' : `asgi websocket: ${why}`, {
      request_id: this.ctx.requestId,
      uri: this.ctx.uri,
      error: why,
    });
    if (ws.readyState === WebSocket.OPEN) ws.close(1011);
    else if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
  }

  private clientGone(): void {
    if (this.settled) return;
    this.settle();
    this.resolve();
  }

  private settle(): void {
    this.settled = true;
    this.sockets.links.running.remove(this);
    if (this.link === undefined) this.sockets.links.cancel(this);
    else if (!this.ended) this.link.abort(this.id);
  }

  private done(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve();
  }

  private fail(e: HttpError): void {
    if (this.settled) return;
    this.settle();
    this.reject(e);
  }
}

function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/** isWebSocket tells whether an upgrade request asks for a WebSocket. */
export function isWebSocket(ctx: Ctx): boolean {
  return ctx.upgrade !== undefined && (ctx.req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** notAvailable is the error for an upgrade the asgi route cannot take (not a WebSocket). */
export const notAvailable = (): HttpError => new HttpError(400, 'asgi routes upgrade to WebSocket only');
