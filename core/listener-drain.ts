import type { Server } from 'node:http';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connectionOf, cutSession } from './http2-connection.js';
import { releaseListener } from './listen-pool.js';

/**
 * IDLE_GRACE is how long a keep-alive connection may stay idle once its listener drains
 * before it is closed (ms). A client that already sent its next request on it gets that
 * request answered (with Connection: close) rather than a reset.
 */
export const IDLE_GRACE = 1000;
const SWEEP_EVERY = 100;
/**
 * COLD_AFTER is how long a connection must have been quiet since its last response for a drain
 * to close it at once: its client is not about to send on it, and a client that comes back
 * later must meet the new config on a new connection, not the old one on this.
 */
export const COLD_AFTER = 100;

/**
 * ENDED keys, on a connection, when its last response was ended: in ticks of TICK_MS since the
 * process started, -1 before any. A small integer, because a connection lives long and a
 * fresh double stored on it per response costs a heap number and a write barrier each time
 * (3% of a `respond` request's CPU, measured); ticks stay small integers for a year.
 */
const ENDED = Symbol('gatekit.ended');
const TICK_MS = 16;

/** HttpSocket is a server-side connection; `_httpMessage` is the response Node is writing on it, if any. */
type HttpSocket = Socket & { _httpMessage?: unknown; [ENDED]?: number };

/** tickOf is the tick of a performance.now() time. */
const tickOf = (ms: number): number => Math.floor(ms / TICK_MS);

/** noteEnded stamps a connection with the time `at` (performance.now()) its response was ended. */
export function noteEnded(socket: Socket | null, at: number): void {
  if (socket) (socket as HttpSocket)[ENDED] = tickOf(at);
}

/** Watched is what a drain knows of one connection: the bytes it had read, and since when it is quiet. */
interface Watched {
  read: number;
  since: number;
}

const connections = new WeakMap<Server, Set<HttpSocket>>();
/** sessions are a listener's HTTP/2 connections, which drain by GOAWAY rather than by idleness. */
const sessions = new WeakMap<Server, Set<ServerHttp2Session>>();
/** draining holds the listeners whose drain began: an HTTP/2 connection that opens then gets GOAWAY at once. */
const draining = new WeakSet<Server>();
/** emptied is what a drain calls when one of its listener's connections closes: it ends once none is left. */
const emptied = new WeakMap<Server, () => void>();

/**
 * trackConnections keeps the listener's open HTTP/1.1 connections, so that a drain can close
 * each when it is done: on a TLS listener, the TLS sockets that HTTP runs on (not those that
 * chose h2, whose session drains them).
 */
export function trackConnections(server: Server, tls: boolean): void {
  const open = new Set<HttpSocket>();
  connections.set(server, open);
  onHttp1Connection(server, tls, (socket: HttpSocket) => {
    socket[ENDED] = -1; // its place made now: a connection keeps one shape from its first response on
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      if (!open.size) emptied.get(server)?.();
    });
  });
}

/**
 * onHttp1Connection calls `fn` with each new connection of `server` that speaks HTTP/1.x: on a
 * TLS listener, the TLS socket HTTP runs on, once its handshake is done and unless it chose h2.
 */
export function onHttp1Connection(server: Server, tls: boolean, fn: (socket: Socket) => void): void {
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    if ((socket as Partial<TLSSocket>).alpnProtocol !== 'h2') fn(socket);
  });
}

/** trackSessions keeps the HTTP/2 connections `h2` takes for the listener `server`, for a drain to send them GOAWAY. */
export function trackSessions(server: Server, h2: Http2Server): void {
  const open = new Set<ServerHttp2Session>();
  sessions.set(server, open);
  h2.on('session', (session: ServerHttp2Session) => {
    if (draining.has(server)) {
      session.close();
      return;
    }
    open.add(session);
    // a session Node destroyed may never emit 'close' (see holdConnections): its socket's counts too
    const gone = (): void => {
      if (open.delete(session) && !open.size) emptied.get(server)?.();
    };
    session.once('close', gone);
    connectionOf(session)?.once('close', gone);
  });
}

/** forgetConnection takes a connection off the listener's HTTP/1.1 books when HTTP/2 takes it over (h2c). */
export function forgetConnection(server: Server, socket: Socket): void {
  connections.get(server)?.delete(socket);
}

/**
 * closeListener stops taking new connections (see listen-pool.ts), lets requests in flight finish within `timeout`, then cuts
 * the rest. Node's own close() also cuts every idle keep-alive connection at that instant,
 * and under load a client has often sent its next request on one already: it met a reset
 * (a reload dropped requests). Here, from the drain on, every response says Connection:
 * close and its connection closes after it; a connection closes once it has been idle
 * (nothing read, no response under way) for IDLE_GRACE. A connection quiet for COLD_AFTER since
 * its last response closes at once, as Node would: after a reload, a client coming back on
 * it must reach the new config. An HTTP/2 connection gets GOAWAY at once: its client opens
 * no new stream on it, and it closes once its streams are done.
 */
export function closeListener(server: Server, timeout: number): Promise<void> {
  return new Promise((resolve) => {
    if (!releaseListener(server)) {
      resolve();
      return;
    }
    server.prependListener('request', (_req, res) => {
      res.shouldKeepAlive = false;
    });
    draining.add(server);
    // GOAWAY: the client opens no new stream here, and those in flight finish
    const h2 = sessions.get(server) ?? new Set<ServerHttp2Session>();
    for (const session of h2) session.close();
    const open = connections.get(server) ?? new Set<HttpSocket>();
    const grace = Math.min(IDLE_GRACE, timeout);
    const seen = new Map<HttpSocket, Watched>();
    const sweep = setInterval(
      () => {
        const now = Date.now();
        for (const socket of open) {
          const w = seen.get(socket);
          if (!w || socket.bytesRead !== w.read || socket._httpMessage) {
            seen.set(socket, { read: socket.bytesRead, since: now });
            continue;
          }
          if (now - w.since >= grace) socket.destroy();
        }
      },
      Math.min(SWEEP_EVERY, grace),
    );
    const timer = setTimeout(() => {
      for (const socket of open) socket.destroy();
      for (const session of h2) cutSession(session);
    }, timeout);
    const done = (): void => {
      if (open.size || h2.size) return;
      emptied.delete(server);
      clearInterval(sweep);
      clearTimeout(timer);
      resolve();
    };
    emptied.set(server, done);
    // Node's close() stops its request-timeout checks; the bound socket is the pool's, closed there.
    server.closeIdleConnections = () => {};
    server.close(() => {});
    const cold = tickOf(performance.now() - COLD_AFTER);
    for (const socket of open) {
      const ended = socket[ENDED] ?? -1;
      if (!socket._httpMessage && ended >= 0 && ended <= cold) socket.destroy();
    }
    done();
  });
}
