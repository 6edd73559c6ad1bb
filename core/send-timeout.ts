// send_timeout for HTTP/1.1 connections (core/http2-stall.ts does it for HTTP/2 sessions): a
// client that accepts no byte of what the server has to send for that long is gone or stuck,
// and holds a socket, a response and whatever feeds it (a file, an upstream). As Nginx's, the
// timeout runs between two writes the client accepts, not for the whole response, and only
// while something waits to be sent: a handler slow to answer is not a stall.

import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { onHttp1Connection } from './listener-drain.js';
import type { Logger } from './logger.js';
import { Sweeper } from './sweeper.js';

/** SWEEP_MS is how often the connections are looked at: a stall is cut within send_timeout plus one sweep. */
const SWEEP_MS = 1000;

/** Progress is what a sweep saw of a connection last: the bytes whose writes had completed, and since when. */
interface Progress {
  done: number;
  since: number;
}

/**
 * watchSends closes, with one log line, an HTTP/1.1 connection of `server` that has bytes
 * waiting to be sent and whose client accepted none of them for `sendTimeout` ms (0 = never).
 * On a TLS listener it watches the TLS sockets HTTP runs on, not those that chose h2.
 */
export function watchSends(server: Server, tls: boolean, sendTimeout: number, log: Logger): void {
  if (sendTimeout <= 0) return;
  const sockets = new Sweeper<Socket, Progress>(SWEEP_MS, (socket, seen, now) => {
    const waiting = socket.writableLength;
    const done = accepted(socket);
    if (waiting === 0 || done !== seen.done) {
      seen.done = done;
      seen.since = now;
    } else if (now - seen.since >= sendTimeout) {
      log.info('client timed out while sending the response', { remote: socket.remoteAddress, waiting });
      sockets.drop(socket);
      socket.destroy();
    }
  });
  onHttp1Connection(server, tls, (socket) => sockets.watch(socket, { done: 0, since: Date.now() }));
}

/**
 * accepted counts the bytes of `socket` whose writes completed. `bytesWritten` counts every
 * byte handed to the socket, sent or buffered, and `writableLength` those not yet written:
 * their difference grows only when a write completes, however much more is queued meanwhile.
 */
function accepted(socket: Socket): number {
  return (socket.bytesWritten ?? 0) - socket.writableLength;
}
