// Stalled HTTP/2 connections: a session whose socket has sent nothing for a while, with streams
// open. Two causes, one check: the client stopped reading (or never opens a flow-control window
// again), which send_timeout ends as Nginx's does; or the client is gone and Node no longer
// watches its socket. The second is a bug of Node 20's TLS layer: a write that fails at once
// with ECONNRESET leaves TLSWrap believing a write is still in flight, so every later write
// waits for good, the session stops reading while "writing", and epoll watches nothing on the
// descriptor: the reset, already taken by that write, is never seen, and the session, its
// streams and their files stay until keepalive_timeout. Reading again shows the end at once.

import type { Http2Server, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { connectionOf, cutSession } from './http2-connection.js';
import type { Logger } from './logger.js';
import { Sweeper } from './sweeper.js';

/** SWEEP_MS is how often the sessions with streams open are looked at: a lost client is found within two sweeps. */
const SWEEP_MS = 1000;

/** STREAMS keys, on a session, its streams still open, which a sweep looks at. */
const STREAMS = Symbol('gatekit.openStreams');
/** OPEN_IN keys, on a stream, the set it is in: Node unsets `stream.session` before a stream's 'close'. */
const OPEN_IN = Symbol('gatekit.openIn');

type Watched = ServerHttp2Session & { [STREAMS]?: Set<ServerHttp2Stream> };
type Tracked = ServerHttp2Stream & { [OPEN_IN]?: Set<ServerHttp2Stream> };

/** Progress is what a sweep saw of a session last: the bytes its socket had sent, and since when. */
interface Progress {
  sent: number;
  since: number;
}

/** SocketHandle is the native handle under a socket: reading can be started again from JavaScript, as net.Socket itself does. */
type SocketHandle = { readStart?(): number };

/**
 * openStream records a stream as open on its session, for watchStalls; closeStream forgets it.
 * Called by the listener for every stream it serves.
 */
export function openStream(stream: Tracked): void {
  const session = stream.session as Watched | undefined;
  if (!session) return;
  const open = (session[STREAMS] ??= new Set());
  open.add(stream);
  stream[OPEN_IN] = open;
}

/** closeStream forgets a stream openStream recorded, once it closed. */
export function closeStream(stream: Tracked): void {
  stream[OPEN_IN]?.delete(stream);
  stream[OPEN_IN] = undefined;
}

/** openStreams is how many streams of `session` are open as the stall watch sees them. */
export function openStreams(session: ServerHttp2Session): number {
  return (session as Watched)[STREAMS]?.size ?? 0;
}

/**
 * watchStalls looks, once a second, at each session of `server` that has streams open and whose
 * socket sent nothing since the last look. It starts reading the socket again, so that a client
 * that went away (FIN or reset) is seen now and its session closes; a live client that is just
 * slow or quiet is not touched by that. A session that has response bytes waiting and sends
 * nothing for `sendTimeout` (send_timeout; 0 = never) is cut, with one log line, as Nginx closes a
 * connection whose client accepts nothing for send_timeout.
 */
export function watchStalls(server: Http2Server, sendTimeout: number, log: Logger): void {
  const sessions = new Sweeper<Watched, Progress>(SWEEP_MS, (session, seen, now) => {
    const socket = connectionOf(session);
    const streams = session[STREAMS];
    if (!socket || session.destroyed || !streams?.size || socket.bytesWritten !== seen.sent) {
      seen.sent = socket?.bytesWritten ?? 0;
      seen.since = now;
      return;
    }
    readAgain(socket);
    // send_timeout runs only while bytes wait: a quiet handler's time does not count towards
    // the moment its answer is queued (a look then would cut a client that did nothing wrong)
    if (!waitingToSend(streams)) seen.since = now;
    else if (sendTimeout > 0 && now - seen.since >= sendTimeout) {
      log.info('client timed out while sending the response', { remote: socket.remoteAddress, streams: streams.size });
      cutSession(session);
    }
  });
  server.on('session', (session: Watched) => sessions.watch(session, { sent: 0, since: Date.now() }));
}

/** readAgain starts reading a connection's socket if it was stopped; a socket already reading is left as it is. */
function readAgain(socket: Socket): void {
  if (socket.destroyed) return;
  (socket as Socket & { _handle?: SocketHandle | null })._handle?.readStart?.();
}

/** waitingToSend tells whether any of the streams has response bytes it could not hand to the client yet. */
function waitingToSend(streams: Set<ServerHttp2Stream>): boolean {
  for (const stream of streams) if (stream.bufferSize > 0) return true;
  return false;
}
