import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { sameOrigin, type TokenCheck } from './access.js';

/** AUTH_TIMEOUT_MS is how long a dashboard has to send its token before its WebSocket is closed. */
const AUTH_TIMEOUT_MS = 10_000;

/**
 * LiveFeed is the dashboard's WebSocket (`/live`): a client from the admin's own origin that
 * shows the token (in its first message, as browsers cannot set headers on a WebSocket) gets
 * `hello` with the history, then every `tick`.
 */
export class LiveFeed {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly clients = new Set<WebSocket>();

  constructor(
    private readonly token: () => TokenCheck,
    private readonly hello: () => unknown,
  ) {}

  /** upgrade takes an Upgrade request on the admin address. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    if (path !== '/live' || !sameOrigin(req)) {
      socket.end(`HTTP/1.1 ${path === '/live' ? '403 Forbidden' : '404 Not Found'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.admit(ws));
  }

  private admit(ws: WebSocket): void {
    const check = this.token();
    const join = (): void => {
      this.clients.add(ws);
      ws.send(JSON.stringify({ type: 'hello', ...(this.hello() as object) }));
    };
    ws.on('close', () => this.clients.delete(ws));
    ws.on('error', () => ws.terminate());
    if (!check.required) {
      join();
      return;
    }
    const timer = setTimeout(() => ws.close(4401, 'no token'), AUTH_TIMEOUT_MS);
    ws.once('message', (data) => {
      clearTimeout(timer);
      let token: unknown;
      try {
        token = (JSON.parse((data as Buffer).toString()) as { token?: unknown }).token;
      } catch {
        /* not JSON: no token */
      } // a Buffer: ws's default binaryType
      if (typeof token === 'string' && check.matches(token)) join();
      else ws.close(4401, 'wrong token');
    });
  }

  /** watched tells whether any dashboard is connected. */
  get watched(): boolean {
    return this.clients.size > 0;
  }

  /** send sends a message to every connected dashboard. */
  send(message: unknown): void {
    const text = JSON.stringify(message);
    for (const ws of this.clients) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  }

  /** disconnect closes every dashboard's connection (the feed takes new ones: an address that moves keeps it). */
  disconnect(): void {
    for (const ws of this.clients) ws.terminate();
    this.clients.clear();
  }
}
