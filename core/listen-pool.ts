// The process's listening sockets, held apart from the HTTP servers that serve their
// connections. A config generation that replaces another in the same process (workers 0)
// takes the bound sockets over instead of closing them and binding again, so that no client
// meets a refused connection while a reload drains the old generation.

import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';

/** Held is one bound socket and the servers it hands connections to: the newest takes them. */
interface Held {
  readonly socket: NetServer;
  readonly takers: NetServer[];
}

const held = new Map<string, Held>();
const keys = new WeakMap<NetServer, string>();

/** Bind starts a bound socket listening (listen on a path, or on a port and host). */
export type Bind = (socket: NetServer) => void;

/**
 * takeListener makes `server` (an HTTP, HTTPS or TLS server that never listens itself) the
 * one that serves the connections of the socket known as `key`, binding it with `bind` when
 * no server of this process holds it yet; it rejects with the bind's error. The server
 * previously taking them keeps its open connections and gets no new one.
 */
export async function takeListener(key: string, server: NetServer, bind: Bind): Promise<void> {
  const h = held.get(key) ?? (await bound(key, bind));
  h.takers.push(server);
  keys.set(server, key);
  server.emit('listening'); // Node's HTTP server starts checking request timeouts on 'listening'
}

async function bound(key: string, bind: Bind): Promise<Held> {
  // As http.createServer's own: half-open connections are the HTTP server's to end, no Nagle.
  const socket = createServer({ allowHalfOpen: true, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('listening', () => {
      socket.off('error', reject);
      resolve();
    });
    bind(socket);
  });
  const h: Held = { socket, takers: [] };
  socket.on('connection', (c: Socket) => {
    const taker = h.takers[h.takers.length - 1];
    if (taker) taker.emit('connection', c);
    else c.destroy();
  });
  // once bound, its errors are failures to accept: the newest server reports them
  socket.on('error', (e: Error) => h.takers[h.takers.length - 1]?.emit('error', e));
  held.set(key, h);
  return h;
}

/**
 * releaseListener stops giving `server` new connections, and closes the socket once no server
 * of this process takes its connections. False when the server held none.
 */
export function releaseListener(server: NetServer): boolean {
  const key = keys.get(server);
  const h = key === undefined ? undefined : held.get(key);
  if (!h || !h.takers.includes(server)) return false;
  h.takers.splice(h.takers.indexOf(server), 1);
  if (!h.takers.length) {
    held.delete(key!);
    h.socket.close();
  }
  return true;
}

/** listenerAddress is the address a server's socket is bound to (the real port, for port 0). */
export function listenerAddress(server: NetServer): AddressInfo | string | null {
  const key = keys.get(server);
  return (key === undefined ? undefined : held.get(key))?.socket.address() ?? null;
}
