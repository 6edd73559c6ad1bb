import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** ConnTarget is where connections go: a TCP host and port (maybe TLS), or a unix socket path. */
export type ConnTarget =
  { readonly kind: 'tcp'; readonly tls: boolean; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

/** PoolOptions configure the keep-alive pool each upstream keeps (per worker). */
export interface PoolOptions {
  /** keepalive is the number of idle connections kept; 0 closes each after its request. */
  readonly keepalive: number;
  readonly keepaliveTimeout: number;
  readonly tlsInsecure: boolean;
}

/** ConnUser is the exchange that holds a connection: it gets the socket's events while it does. */
export interface ConnUser {
  onConnect(): void;
  onData(data: Buffer): void;
  onDrain(): void;
  /** onEnd is the upstream closing its side (or the connection closing) while the exchange holds it. */
  onEnd(): void;
  onError(e: Error): void;
}

/**
 * Conn is one upstream connection. Its socket listeners are set once, when it opens, and
 * pass events to whichever exchange holds it (none while it idles in the pool), so taking and
 * giving back a connection costs no listener churn.
 */
export class Conn {
  user: ConnUser | undefined;
  /** reused tells whether the connection served a request before the current one. */
  reused = false;
  /** connecting is true until the TCP (and TLS) handshake is done. */
  connecting = true;
  /** idleSince is when the connection went back to the pool (performance.now()). */
  idleSince = 0;
  private readonly listeners: [string, (...args: any[]) => void][];

  constructor(
    readonly socket: Socket,
    tls: boolean,
    private readonly pool: ConnPool,
  ) {
    const onData = (d: Buffer): void => {
      if (this.user) this.user.onData(d);
      else this.destroy();
    }; // an idle connection must stay quiet
    const onEnd = (): void => {
      if (this.user) this.user.onEnd();
      else this.destroy();
    };
    const onClose = (): void => {
      this.pool.forget(this);
      if (this.user) this.user.onEnd();
    };
    const onError = (e: Error): void => {
      if (this.user) this.user.onError(e);
      else this.destroy();
    };
    const onDrain = (): void => this.user?.onDrain();
    const onConnect = (): void => {
      this.connecting = false;
      this.user?.onConnect();
    };
    this.listeners = [
      ['data', onData],
      ['end', onEnd],
      ['close', onClose],
      ['error', onError],
      ['drain', onDrain],
      [tls ? 'secureConnect' : 'connect', onConnect],
    ];
    for (const [event, fn] of this.listeners) socket.on(event, fn);
    socket.setNoDelay(true);
  }

  destroy(): void {
    this.user = undefined;
    this.pool.forget(this); // now, not at 'close': a destroyed socket must not be lent again
    this.socket.destroy();
  }

  /** detach hands the socket over (an upgraded connection joining a tunnel): the pool forgets it and its listeners go. */
  detach(): Socket {
    this.user = undefined;
    for (const [event, fn] of this.listeners) this.socket.off(event, fn);
    this.pool.forget(this);
    return this.socket;
  }
}

/**
 * ConnPool opens connections to one upstream and keeps up to `keepalive` idle ones for reuse
 * (most recently used first, so a quiet period lets the others time out), each closed after
 * `keepaliveTimeout` idle or when the upstream closes it. Idle time is checked by one sweep
 * every quarter of the timeout, not a timer per connection re-armed on every request.
 */
export class ConnPool {
  private readonly idle: Conn[] = [];
  private readonly open = new Set<Conn>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: ConnTarget,
    private readonly opts: PoolOptions,
  ) {}

  /** reuses tells whether connections are kept for further requests. */
  get reuses(): boolean {
    return this.opts.keepalive > 0;
  }

  /** take returns an idle connection, or opens one (`fresh` forces a new one, as for an upgrade). */
  take(user: ConnUser, fresh = false): Conn {
    let c = fresh ? undefined : this.idle.pop();
    while (c?.socket.destroyed) c = this.idle.pop();
    if (c) {
      c.user = user;
      c.reused = true;
      return c;
    }
    const conn = new Conn(this.connect(), this.target.kind === 'tcp' && this.target.tls, this);
    conn.user = user;
    this.open.add(conn);
    return conn;
  }

  /** give takes back a connection whose exchange ended cleanly; beyond `keepalive` idle ones it is closed. */
  give(c: Conn): void {
    c.user = undefined;
    if (this.idle.length >= this.opts.keepalive || c.socket.destroyed) {
      c.destroy();
      return;
    }
    if (c.socket.isPaused()) c.socket.resume(); // an idle connection must notice the upstream closing it
    c.idleSince = performance.now();
    this.idle.push(c);
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(50, this.opts.keepaliveTimeout / 4)).unref();
  }

  /** sweep closes the connections idle for longer than keepaliveTimeout (the oldest are first in the list). */
  private sweep(): void {
    const limit = performance.now() - this.opts.keepaliveTimeout;
    while (this.idle.length && this.idle[0].idleSince <= limit) this.idle[0].destroy();
    if (this.idle.length === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** forget drops a connection that closed or left the pool. */
  forget(c: Conn): void {
    this.open.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** close destroys every connection, idle or in use. */
  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const c of [...this.open]) c.destroy();
    this.open.clear();
    this.idle.length = 0;
  }

  private connect(): Socket {
    const t = this.target;
    if (t.kind === 'unix') return netConnect({ path: t.path });
    if (!t.tls) return netConnect({ host: t.host, port: t.port });
    return tlsConnect({
      host: t.host,
      port: t.port,
      servername: isIP(t.host) ? undefined : t.host,
      rejectUnauthorized: !this.opts.tlsInsecure,
      ALPNProtocols: ['http/1.1'],
    });
  }
}
