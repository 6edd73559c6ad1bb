import type { IncomingHttpHeaders } from 'node:http';
import { Http2ServerRequest, type Http2Stream, type IncomingHttpHeaders as Http2Headers } from 'node:http2';
import type { Socket } from 'node:net';

/** nodeSocket is Node's `socket` of a compatibility request: a view of the stream and its connection, which forgets the connection once the stream closes. */
const nodeSocket = Object.getOwnPropertyDescriptor(Http2ServerRequest.prototype, 'socket')!.get!;

/** ADDRESSES are the connection's facts a request keeps after its stream closes (access logs read them then). */
const ADDRESSES = ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort'] as const;

/**
 * GateH2Request is the kernel's HTTP/2 request: Node's compatibility request, whose headers
 * and raw headers read as the same request sent over HTTP/1.1 would (RFC 9113 8.3.1): no
 * pseudo-header fields, `host` from `:authority`, split cookie fields joined with "; "
 * (8.2.3), and `transfer-encoding: chunked` for a body of unannounced length, so that every
 * handler frames and forwards it as it does an HTTP/1.1 one. Method and URL are Node's.
 * Its socket keeps the connection's addresses after the stream closes.
 */
export class GateH2Request extends Http2ServerRequest {
  /** plainHeaders and plainRaw are what `headers` and `rawHeaders` read (accessors, set below: Node's are too). */
  plainHeaders: IncomingHttpHeaders;
  plainRaw: string[];
  /** peer is the socket view handed out: Node's, with the addresses kept. */
  peer: Socket | undefined;

  constructor(stream: Http2Stream, headers: Http2Headers, options: object, rawHeaders: string[]) {
    super(stream as never, headers, options as never, rawHeaders);
    const raw: string[] = [];
    const cookies: string[] = [];
    let host = headers[':authority'];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i];
      if (name.charCodeAt(0) === 58 /* : */) continue;
      if (name === 'cookie') {
        cookies.push(rawHeaders[i + 1]);
        continue;
      }
      if (name === 'host') {
        host ??= rawHeaders[i + 1];
        continue;
      }
      raw.push(name, rawHeaders[i + 1]);
    }
    const plain: IncomingHttpHeaders = {};
    for (const k of Object.keys(headers)) if (k.charCodeAt(0) !== 58 && k !== 'host') (plain as Record<string, unknown>)[k] = headers[k];
    if (cookies.length) {
      plain.cookie = cookies.join('; ');
      raw.push('cookie', plain.cookie);
    }
    if (host !== undefined) {
      plain.host = String(host);
      raw.unshift('host', plain.host);
    }
    if (!stream.endAfterHeaders && plain['content-length'] === undefined) {
      plain['transfer-encoding'] = 'chunked';
      raw.push('transfer-encoding', 'chunked');
    }
    this.plainHeaders = plain;
    this.plainRaw = raw;
    // as Node's HTTP/1.1 request: a failure of the body (a timeout, a reset) reaches whoever
    // reads it, and never the process, when nobody does any more
    this.on('error', unread);
  }
}

Object.defineProperties(GateH2Request.prototype, {
  headers: {
    configurable: true,
    get(this: GateH2Request) {
      return this.plainHeaders;
    },
  },
  rawHeaders: {
    configurable: true,
    get(this: GateH2Request) {
      return this.plainRaw;
    },
  },
  socket: {
    configurable: true,
    get(this: GateH2Request) {
      return (this.peer ??= keptAddresses(this));
    },
  },
});

/** unread is the error listener of a request body nobody may be reading any more. */
function unread(): void {}

/** CONN_FACTS is where a connection keeps the facts its requests' socket views answer from (see connectionFacts). */
const CONN_FACTS = Symbol('gatekit.h2ConnFacts');

type FactsHolder = { [CONN_FACTS]?: ReadonlyMap<string | symbol, unknown> };

/**
 * connectionFacts are a connection's addresses, and its TLS version for getProtocol, read
 * once per connection rather than once per request: they do not change while it lives, and
 * each read goes through Node's socket views (a Proxy over the stream, then the session).
 */
function connectionFacts(req: GateH2Request, live: () => Socket): ReadonlyMap<string | symbol, unknown> {
  const session = req.stream.session as unknown as FactsHolder | undefined;
  if (session?.[CONN_FACTS]) return session[CONN_FACTS];
  const socket = live();
  const facts = new Map<string | symbol, unknown>(ADDRESSES.map((k) => [k, socket[k]]));
  const getProtocol = (socket as Socket & { getProtocol?: () => string | null }).getProtocol;
  if (typeof getProtocol === 'function') {
    const protocol = getProtocol();
    facts.set('getProtocol', () => protocol);
  }
  if (session) session[CONN_FACTS] = facts;
  return facts;
}

/** keptAddresses is a request's socket view that answers the connection's addresses even once its stream has closed. */
function keptAddresses(req: GateH2Request): Socket {
  const live = (): Socket => nodeSocket.call(req) as Socket;
  const kept = connectionFacts(req, live);
  return new Proxy({} as Socket, {
    get: (_t, prop) => (kept.has(prop) ? kept.get(prop) : Reflect.get(live(), prop)),
    has: (_t, prop) => kept.has(prop) || Reflect.has(live(), prop),
  });
}
