import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Reply is what the test origin answers for a path: status, headers, body. */
export interface Reply {
  readonly status?: number;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string | Buffer;
  /** hold keeps the answer back until the promise settles. */
  readonly hold?: Promise<void>;
}

/** Origin is a real HTTP server that counts the requests it gets, per path, and answers what a test sets. */
export class Origin {
  readonly hits = new Map<string, number>();
  readonly seen: IncomingMessage[] = [];
  private readonly replies = new Map<string, (req: IncomingMessage, n: number) => Reply>();
  private readonly server: Server;

  private readonly arrivals = new EventEmitter();

  constructor() {
    this.server = createServer((req, res) => void this.answer(req, res));
  }

  /** listen starts it on 127.0.0.1, port 0. */
  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string { return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`; }

  /** on sets the answer for a path, whatever its query (its n-th request counted from 1). */
  on(path: string, reply: Reply | ((req: IncomingMessage, n: number) => Reply)): this {
    this.replies.set(path, typeof reply === 'function' ? reply : () => reply);
    return this;
  }

  count(path: string): number { return this.hits.get(path) ?? 0; }

  /** reached resolves once `path` has had `n` requests. */
  reached(path: string, n = 1): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => { if (this.count(path) >= n) { this.arrivals.off('request', check); resolve(); } };
      this.arrivals.on('request', check);
      check();
    });
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const n = (this.hits.get(path) ?? 0) + 1;
    this.hits.set(path, n);
    this.seen.push(req);
    this.arrivals.emit('request', path);
    const r = this.replies.get(path)?.(req, n) ?? { status: 404, body: 'none\n' };
    await r.hold;
    const body = typeof r.body === 'string' ? Buffer.from(r.body) : (r.body ?? Buffer.alloc(0));
    res.writeHead(r.status ?? 200, { 'content-length': body.length, ...r.headers });
    res.end(body);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
