import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { FrameReader, frame, HttpError, type Ctx, type Logger } from '../../core/index.js';
import { headFrame, nulFields } from './scope.js';
import { FRAME } from './settings.js';

/** Handshake is what the application chose in websocket.accept. */
interface Handshake { readonly subprotocol: string; readonly headers: readonly string[] }

/**
 * WebSockets accepts the upgrades of one `asgi` route with `ws`, once the application
 * said websocket.accept, with the subprotocol and headers it chose.
 */
export class WebSockets {
  private readonly pending = new WeakMap<IncomingMessage, Handshake>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (_offered, req) => this.pending.get(req)?.subprotocol || false,
  });

  constructor(private readonly poolPath: string, private readonly timeout: number, private readonly log: Logger) {
    this.wss.on('headers', (headers, req) => {
      const h = this.pending.get(req)?.headers ?? [];
      for (let i = 0; i + 1 < h.length; i += 2) headers.push(`${h[i]}: ${h[i + 1]}`);
    });
  }

  /**
   * serve runs one WebSocket through the pool: the application gets websocket.connect,
   * and may accept (the upgrade completes) or close (403); then messages flow both ways
   * until either side closes, the other getting websocket.disconnect or a close frame.
   * An application exception is 500 before the accept, a close with 1011 after it.
   */
  serve(ctx: Ctx): Promise<void> {
    const up = ctx.takeUpgrade();
    const raw: Duplex = up.socket;
    const sock: Socket = connect(this.poolPath);
    let ws: WebSocket | undefined;
    let settled = false;
    return new Promise((resolve) => {
      const done = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        resolve();
      };
      const refuse = (status: number, why?: string): void => {
        if (why) this.log.error(`asgi websocket: ${status} ${STATUS_CODES[status]}`, { request_id: ctx.requestId, uri: ctx.uri, error: why });
        if (raw.writable) raw.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
        raw.destroy();
        done();
      };
      const timer = setTimeout(() => refuse(504, `the application neither accepted nor closed within ${this.timeout}ms`), this.timeout);
      raw.on('close', () => { if (!ws) done(); });
      raw.on('error', () => { if (!ws) done(); });

      const accept = (payload: Buffer): void => {
        clearTimeout(timer);
        const [subprotocol, ...headers] = nulFields(payload);
        this.pending.set(ctx.req, { subprotocol, headers });
        this.wss.handleUpgrade(ctx.req, raw, up.head, (w) => {
          ws = w;
          w.on('message', (data: Buffer, binary: boolean) => { if (!sock.destroyed) sock.write(frame(binary ? FRAME.bytes : FRAME.text, data)); });
          w.on('close', (code: number, reason: Buffer) => {
            if (!sock.destroyed) sock.end(frame(FRAME.close, Buffer.concat([u16(code), reason])));
            done();
          });
          w.on('error', () => w.terminate());
        });
      };
      const reader = new FrameReader({
        data() { /* no streamed frames in a WebSocket */ },
        control: (kind, payload) => {
          if (settled) return;
          switch (kind) {
            case FRAME.accept: if (!ws) accept(payload); return;
            case FRAME.text: ws?.send(payload.toString('utf8')); return;
            case FRAME.bytes: ws?.send(payload, { binary: true }); return;
            case FRAME.close:
              if (!ws) return refuse(403);
              ws.close(payload.readUInt16BE(0), payload.subarray(2).toString('utf8'));
              return;
            case FRAME.error:
              if (!ws) return refuse(500, payload.toString('utf8'));
              this.log.error('asgi websocket application raised an exception', { request_id: ctx.requestId, uri: ctx.uri, error: payload.toString('utf8') });
              ws.close(1011);
              return;
            default: return fail(`unknown frame 0x${kind.toString(16)}`);
          }
        },
      }, -1);
      const fail = (why: string): void => {
        if (settled) return;
        if (!ws) return refuse(502, why);
        this.log.error(`asgi websocket: ${why}`, { request_id: ctx.requestId, uri: ctx.uri });
        if (ws.readyState === WebSocket.OPEN) ws.close(1011); else ws.terminate();
        done();
      };
      sock.on('data', (c: Buffer) => { try { reader.push(c); } catch (e) { fail(`bad frame from the asgi worker: ${(e as Error).message}`); } });
      sock.on('error', (e) => fail(`asgi worker failed: ${e.message}`));
      sock.on('close', () => {
        if (settled) return;
        if (ws && (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED)) return; // the app closed; the close handshake ends it
        fail('the asgi worker closed the connection');
      });
      sock.write(headFrame(ctx, true));
    });
  }

  /** close releases the ws server (not the sockets it handed over). */
  close(): void {
    this.wss.close();
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
