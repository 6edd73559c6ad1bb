import { connect, type Socket } from 'node:net';
import type { Address } from '../../core/index.js';

/** Sink hears a connection's socket: the exchange it serves, or the pool while it is idle. */
export interface Sink {
  data(chunk: Buffer): void;
  /** lost: the socket failed, ended or closed, or (idle) timed out. */
  lost(why: string): void;
}

const NOBODY: Sink = { data() {}, lost() {} };

/**
 * Conn is one connection to the responder, lent to one request at a time. Its socket's
 * listeners are added once, when it opens, and pass events on to `sink`: adding and removing
 * them for each request cost more than the rest of the pool's bookkeeping.
 */
export class Conn {
  /** reused is true when the connection served a request before (it may have gone stale meanwhile). */
  reused = false;
  /** answered is set once the responder sent a byte on it for the current request. */
  answered = false;
  /** uses counts the requests it served. */
  uses = 0;
  /** starving is set when a new connection has had no answer for STARVING_AFTER: it may wait for a child. */
  starving = false;
  /** watch is the timer that sets `starving`, while a new connection waits for its first answer. */
  watch: NodeJS.Timeout | undefined;
  sink: Sink = NOBODY;
  /** heldSince is when it was first released (Date.now()), 0 before: its child is held from about then, after any wait in the backlog. */
  heldSince = 0;

  /** keep asks the responder to keep the connection after each request (FCGI_KEEP_CONN). */
  constructor(
    readonly socket: Socket,
    readonly keep: boolean,
  ) {
    socket.on('data', (chunk: Buffer) => this.sink.data(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => this.sink.lost(e.code ?? e.message));
    socket.on('end', () => this.sink.lost('connection closed'));
    socket.on('close', () => this.sink.lost('connection closed'));
    socket.on('timeout', () => this.sink.lost('idle timeout'));
  }
}

/** ConnectFailure is a connection that could not be opened: refused, missing socket, or the connect timeout. */
export class ConnectFailure extends Error {
  constructor(
    message: string,
    readonly timeout: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConnectFailure';
  }
}

/**
 * ROTATE_MS (ms) after its first answer, a kept connection is closed, busy ones when released
 * (another is opened for whoever waits) and idle ones where they lie: that frees its PHP-FPM
 * child now and then, so that connections of other workers or other clients waiting in the
 * listen backlog get one even when workers x keepalive exceeds pm.max_children, whether the
 * connections here stay busy or sit idle after a burst. A bound in time, not in requests,
 * holds for slow scripts too; a reconnect once a second costs next to nothing.
 */
const ROTATE_MS = 1000;

/**
 * STARVING_AFTER (ms) without an answer, a new connection may be waiting in the responder's
 * listen backlog for a child that this worker's idle connections hold: they are closed then.
 * A new connection is not starving merely because its script is running.
 */
export const STARVING_AFTER = 100;

interface Waiter {
  readonly resolve: (c: Conn) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

/** PoolOptions size the pool: idle connections kept, how long, and the connect timeout (ms). */
export interface PoolOptions {
  readonly keepalive: number;
  readonly idleTimeout: number;
  readonly connectTimeout: number;
  /** queueTimeout is the longest wait for a connection of a full pool (read_timeout: as long as a request could wait in the responder's backlog for its first byte; default 60 s). */
  readonly queueTimeout?: number;
  /** onStarving hears of a new connection that waited STARVING_AFTER for its first answer. */
  readonly onStarving?: () => void;
}

/**
 * ConnPool lends a worker's connections to one responder. With `keepalive` above 0 the worker
 * holds at most `keepalive` connections (lent or idle), all kept open with FCGI_KEEP_CONN;
 * a request that finds them all lent waits here, in order, and gets the next one released
 * (handed over directly), rather than opening one more that would wait in the responder's
 * listen backlog. Opening and closing a unix-socket connection per request costs both this
 * worker and PHP-FPM (accept, close) more than the request itself. A PHP-FPM child serves
 * only the connection it accepted until that closes, so a connection holds a child: with
 * workers x keepalive at most pm.max_children every connection has one. When a new connection
 * of this worker has waited STARVING_AFTER for its first byte (maybe in the backlog, for want
 * of a free child), its idle connections are closed, and so is each one released, rather than
 * kept or handed over, until it is answered: that frees their children for it. And each
 * connection is closed ROTATE_MS after its first answer, so that no child stays pinned.
 * With `keepalive` 0 each request opens its own connection, closed after it (no limit).
 */
export class ConnPool {
  private readonly idle: Conn[] = [];
  private readonly busy = new Set<Conn>();
  /** waiting are the requests queued for a connection, oldest first. */
  private readonly waiting: Waiter[] = [];
  /** opening counts connections being opened: they count toward the limit. */
  private opening = 0;
  private closed = false;

  constructor(
    private readonly address: Address,
    private readonly o: PoolOptions,
  ) {}

  /** acquire lends an idle connection, opens a new one while under the limit (`fresh` skips the idle ones and the limit), or waits for one. */
  acquire(fresh = false): Promise<Conn> {
    if (this.closed) return Promise.reject(new ConnectFailure('fastcgi: shutting down', false));
    const keep = this.o.keepalive > 0;
    if (!fresh) {
      const kept = this.idle.pop();
      if (kept) {
        kept.socket.setTimeout(0);
        return Promise.resolve(this.lend(kept));
      }
      if (keep && this.busy.size + this.opening >= this.o.keepalive) return this.wait();
    }
    return this.openConn(keep);
  }

  /** release takes a connection back: handed to the oldest waiting request, kept idle when `reusable` and the rules above allow it, else destroyed. */
  release(conn: Conn, reusable: boolean): void {
    if (!this.busy.delete(conn)) return;
    conn.sink = NOBODY;
    clearTimeout(conn.watch);
    const s = conn.socket;
    const now = Date.now();
    if (conn.heldSince === 0) conn.heldSince = now;
    const heldFor = now - conn.heldSince;
    conn.uses++;
    const usable = reusable && conn.keep && heldFor < ROTATE_MS && !this.closed && !s.destroyed && !s.readableEnded;
    // While a new connection starves, closing this one frees its child for it (the responder
    // accepts its backlog in order); a waiting request gets a new connection, in line after it.
    if (!usable || this.starving()) {
      s.destroy();
      this.refill();
      return;
    }
    s.removeAllListeners('drain'); // the exchange's, if it waited for the socket
    if (s.isPaused()) s.resume(); // the exchange paused it for a slow client
    const next = this.waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve(this.lend(conn));
      return;
    }
    if (this.idle.length >= this.o.keepalive) {
      s.destroy();
      return;
    }
    // Dropped on a reset, when the responder closes it (a child recycled by pm.max_requests),
    // on bytes nobody asked for, or after the idle timeout or its ROTATE_MS, whichever is first.
    const drop = (): void => {
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      conn.sink = NOBODY;
      s.destroy();
    };
    conn.sink = { data: drop, lost: drop };
    const left = ROTATE_MS - heldFor; // over 0: one held that long was closed above
    s.setTimeout(this.o.idleTimeout > 0 ? Math.min(this.o.idleTimeout, left) : left); // 0 is no timeout of its own, not none at all
    this.idle.push(conn);
  }

  /** counts says how many connections are lent and how many requests wait for one (admin). */
  counts(): { readonly busy: number; readonly queue: number; readonly limit: number } {
    return { busy: this.busy.size, queue: this.waiting.length, limit: this.o.keepalive };
  }

  /** close destroys every connection, idle or lent. */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new ConnectFailure('fastcgi: shutting down', false));
    }
    for (const c of this.idle.splice(0)) c.socket.destroy();
    for (const c of this.busy) {
      clearTimeout(c.watch);
      c.socket.destroy();
    }
    this.busy.clear();
  }

  /** lend marks a connection lent to one request. */
  private lend(conn: Conn): Conn {
    conn.sink = NOBODY; // until its exchange starts
    conn.reused = conn.uses > 0;
    conn.answered = false;
    conn.starving = false;
    this.busy.add(conn);
    return conn;
  }

  /** starving tells whether a lent connection is starving still (no answer yet). */
  private starving(): boolean {
    for (const c of this.busy) if (c.starving && !c.answered) return true;
    return false;
  }

  /** watchFresh marks a new connection starving when its first answer is slow, and frees the children idle connections hold. */
  private watchFresh(conn: Conn): void {
    conn.watch = setTimeout(() => {
      if (conn.answered) return; // release() clears the timer, so the connection is still lent
      conn.starving = true;
      for (const c of this.idle.splice(0)) c.socket.destroy();
      this.o.onStarving?.();
    }, STARVING_AFTER);
    conn.watch.unref();
  }

  private async openConn(keep: boolean): Promise<Conn> {
    this.opening++;
    let socket: Socket;
    try {
      socket = await this.open();
    } catch (e) {
      this.opening--;
      this.refill();
      throw e;
    }
    this.opening--;
    if (this.closed) {
      socket.destroy();
      throw new ConnectFailure('fastcgi: shutting down', false);
    }
    const conn = this.lend(new Conn(socket, keep));
    if (keep) this.watchFresh(conn);
    return conn;
  }

  /** wait queues a request for the next connection released; after queueTimeout it fails as a timeout (504). */
  private wait(): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new ConnectFailure(`fastcgi: no connection to ${this.address.text} free within read_timeout`, true));
        }, this.o.queueTimeout ?? 60_000),
      };
      this.waiting.push(w);
    });
  }

  /** refill opens a connection for the oldest waiting request when one was closed or failed to open. */
  private refill(): void {
    if (this.closed || !this.waiting.length || this.busy.size + this.opening >= this.o.keepalive) return;
    const w = this.waiting.shift()!;
    clearTimeout(w.timer);
    this.openConn(true).then(w.resolve, w.reject);
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
