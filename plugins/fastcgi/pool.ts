import { connect, type Socket } from 'node:net';
import type { Address } from '../../core/index.js';

/** Conn is one connection to the responder, lent to one request at a time. */
export interface Conn {
  readonly socket: Socket;
  /** reused is true when the connection served a request before (it may have gone stale meanwhile). */
  readonly reused: boolean;
  /** answered is set once the responder sent a byte on it for the current request. */
  answered: boolean;
  /** keep asks the responder to keep the connection after this request (FCGI_KEEP_CONN). */
  readonly keep: boolean;
}

/** ConnectFailure is a connection that could not be opened: refused, missing socket, or the connect timeout. */
export class ConnectFailure extends Error {
  constructor(message: string, readonly timeout: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectFailure';
  }
}

/** PoolOptions size the pool: idle connections kept, how long, and the connect timeout (ms). */
export interface PoolOptions {
  readonly keepalive: number;
  readonly idleTimeout: number;
  readonly connectTimeout: number;
}

/**
 * ConnPool keeps a worker's idle connections to one responder (FCGI_KEEP_CONN). A PHP-FPM
 * child serves only the connection it accepted until that closes, so an idle connection
 * holds a child. While another request of this worker is still connecting, or waits for
 * the first byte on a new connection (maybe in the listen backlog, for want of a free
 * child), a finished connection is closed rather than kept: that frees its child for it.
 */
export class ConnPool {
  private readonly idle: Conn[] = [];
  private readonly busy = new Set<Conn>();
  /** opening counts connections being opened: they too may wait for a child. */
  private opening = 0;
  private closed = false;

  constructor(private readonly address: Address, private readonly o: PoolOptions) {}

  /** acquire lends an idle connection, or opens a new one (`fresh` skips the idle ones). */
  async acquire(fresh = false): Promise<Conn> {
    if (this.closed) throw new ConnectFailure('fastcgi: shutting down', false);
    // Ask to keep the connection only while this worker's load fits in the pool: beyond it, the
    // responder closes it right after the request and its child is free at once, not when we close.
    const keep = this.busy.size + this.opening < this.o.keepalive;
    const kept = fresh ? undefined : this.idle.pop();
    if (kept) {
      kept.socket.setTimeout(0);
      for (const ev of ['timeout', 'data', 'end', 'error', 'close']) kept.socket.removeAllListeners(ev);
      const conn: Conn = { socket: kept.socket, reused: true, answered: false, keep };
      this.busy.add(conn);
      return conn;
    }
    this.opening++;
    const socket = await this.open().finally(() => { this.opening--; });
    const conn: Conn = { socket, reused: false, answered: false, keep };
    this.busy.add(conn);
    return conn;
  }

  /** release takes a connection back: kept idle when `reusable` and the rules above allow it, else destroyed. */
  release(conn: Conn, reusable: boolean): void {
    this.busy.delete(conn);
    const s = conn.socket;
    const starved = this.opening > 0 || [...this.busy].some((c) => !c.reused && !c.answered);
    if (!reusable || !conn.keep || this.closed || starved || this.idle.length >= this.o.keepalive || s.destroyed || s.readableEnded) {
      s.destroy();
      return;
    }
    for (const ev of ['data', 'end', 'error', 'close', 'drain']) s.removeAllListeners(ev);
    const drop = (): void => {
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      s.destroy();
    };
    s.on('error', drop); // a reset while idle
    s.on('end', drop); // the responder closed it (a child recycled by pm.max_requests)
    s.on('data', drop); // nothing is expected while idle
    s.setTimeout(this.o.idleTimeout, drop);
    s.resume();
    this.idle.push(conn);
  }

  /** close destroys every connection, idle or lent. */
  close(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.socket.destroy();
    for (const c of this.busy) c.socket.destroy();
    this.busy.clear();
  }

  private open(): Promise<Socket> {
    const a = this.address;
    const socket = a.kind === 'unix' ? connect({ path: a.path }) : connect({ host: a.host ?? '127.0.0.1', port: a.port });
    socket.setNoDelay(true);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectFailure(`fastcgi: connect to ${a.text} timed out`, true));
      }, this.o.connectTimeout);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new ConnectFailure(`fastcgi: connect to ${a.text} failed: ${e.code ?? e.message}`, false, { cause: e }));
      });
    });
  }
}
