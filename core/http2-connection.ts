// The socket under each HTTP/2 session, which gatekit holds itself: Node's session neither
// closes it when the peer hangs up nor gives it out to be destroyed (see holdConnections).

import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';

/** CONNECTION keys, on a session, the socket it runs on: Node's `session.socket` is a proxy that may not destroy it. */
const CONNECTION = Symbol('gatekit.connection');

type Held = ServerHttp2Session & { [CONNECTION]?: Socket };

/**
 * holdConnections makes each session of `server` close with its socket, which Node's does not
 * always do. A peer's FIN reaches the socket, not nghttp2, and the socket (half-open, as every
 * HTTP server's) is never ended: a client that hung up mid-response left its session, its
 * streams (waiting for a flow-control window that never comes) and its file descriptor open
 * for good, and a drain waiting for them. As Nginx does, a peer that closes its side closes the
 * connection. A session idle past keepalive_timeout is cut with its socket: Node's own
 * destroy() waits for writes in flight, which a peer that stopped reading never lets finish.
 */
export function holdConnections(server: Http2Server): void {
  let arriving: Socket | undefined;
  // Node makes the session, and emits 'session', inside its own 'connection' listener
  server.prependListener('connection', (socket: Socket) => {
    arriving = socket;
    socket.once('end', () => socket.destroy());
  });
  server.on('session', (session: Held) => {
    session[CONNECTION] = arriving;
    arriving = undefined;
  });
  server.on('timeout', cutSession);
}

/** connectionOf is the socket an HTTP/2 session runs on (undefined for one made elsewhere than an http2Server). */
export function connectionOf(session: ServerHttp2Session): Socket | undefined {
  return (session as Held)[CONNECTION];
}

/**
 * cutSession ends an HTTP/2 connection now: GOAWAY if it can still be written, then its socket
 * is destroyed a turn later, whatever its streams and writes in flight (a drain past its
 * graceful_timeout, an idle or stuck connection).
 */
export function cutSession(session: ServerHttp2Session): void {
  session.destroy();
  const socket = connectionOf(session);
  if (socket) setImmediate(() => socket.destroy());
}
