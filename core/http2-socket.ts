import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';

/** CONN_FACTS is where a connection keeps the facts its requests' socket views answer from (see connectionFacts). */
const CONN_FACTS = Symbol('gatekit.h2ConnFacts');

/** ADDRESSES are the connection's facts a socket view keeps after its stream closes (access logs read them then). */
const ADDRESSES = ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort', 'encrypted'] as const;

/** STREAM_METHODS are the socket methods a view runs on the stream, as Node's compatibility socket does: listening, ending, destroying. */
const STREAM_METHODS: ReadonlySet<string | symbol> = new Set(['on', 'once', 'off', 'addListener', 'removeListener', 'end', 'emit', 'destroy']);

/** NO_MANIPULATION are the socket methods a view refuses: the connection's bytes are HTTP/2's, not a handler's. */
const NO_MANIPULATION: ReadonlySet<string | symbol> = new Set(['write', 'read', 'pause', 'resume']);

type FactsHolder = { [CONN_FACTS]?: ReadonlyMap<string | symbol, unknown> };

/** View is the target of a socket view: its stream and the connection's kept facts. */
interface View {
  readonly stream: ServerHttp2Stream;
  readonly facts: ReadonlyMap<string | symbol, unknown>;
  /** marks are what was set on the view (see upgrade-request.ts): they stay with it. */
  marks?: Map<string | symbol, unknown>;
}

/**
 * connectionFacts are a connection's addresses, and its TLS version for getProtocol, read
 * once per connection rather than once per request: they do not change while it lives.
 */
function connectionFacts(stream: ServerHttp2Stream): ReadonlyMap<string | symbol, unknown> {
  const session = stream.session as unknown as (FactsHolder & { socket?: Socket }) | undefined;
  const kept = session?.[CONN_FACTS];
  if (kept) return kept;
  const socket = session?.socket;
  const facts = new Map<string | symbol, unknown>();
  if (!socket) return facts; // a stream whose connection is gone already: the live fallbacks answer
  for (const k of ADDRESSES) facts.set(k, socket[k as keyof Socket]);
  const getProtocol = (socket as Socket & { getProtocol?: () => string | null }).getProtocol;
  if (typeof getProtocol === 'function') {
    const protocol = getProtocol.call(socket);
    facts.set('getProtocol', () => protocol);
  }
  session[CONN_FACTS] = facts;
  return facts;
}

/** liveRef is what a view reads a fact it did not keep from: the connection while the stream has one, else the stream. */
function liveRef(stream: ServerHttp2Stream): object {
  return (stream.session as unknown as { socket?: object } | undefined)?.socket ?? stream;
}

/** VIEW_HANDLER answers a socket view's reads (one handler for every view). */
const VIEW_HANDLER: ProxyHandler<View> = {
  get({ stream, facts, marks }, prop) {
    if (facts.has(prop)) return facts.get(prop);
    if (marks?.has(prop)) return marks.get(prop);
    if (STREAM_METHODS.has(prop)) return (stream[prop as keyof ServerHttp2Stream] as (...a: unknown[]) => unknown).bind(stream);
    if (prop === 'writable' || prop === 'destroyed') return stream[prop];
    if (prop === 'readable') return !stream.destroyed && stream.readable;
    if (NO_MANIPULATION.has(prop)) throw new Error(`an HTTP/2 request's socket cannot ${String(prop)}: the connection carries other streams`);
    const ref = liveRef(stream);
    const value = Reflect.get(ref, prop) as unknown;
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(ref) : value;
  },
  has({ stream, facts }, prop) {
    return facts.has(prop) || Reflect.has(liveRef(stream), prop);
  },
  set(view, prop, value) {
    (view.marks ??= new Map()).set(prop, value);
    return true;
  },
};

/**
 * tlsProtocolOf is the TLS version of a stream's connection (getProtocol() of its socket), as
 * its socket view answers it, without making the view; null when the connection is not TLS.
 */
export function tlsProtocolOf(stream: ServerHttp2Stream): string | null {
  const kept = connectionFacts(stream).get('getProtocol');
  const getProtocol = kept ?? (liveRef(stream) as { getProtocol?: unknown }).getProtocol;
  return typeof getProtocol === 'function' ? ((getProtocol as () => string | null).call(liveRef(stream)) ?? null) : null;
}

/**
 * socketView is what an HTTP/2 request's and response's `socket` read: a stand-in for the
 * connection that answers its addresses (even once the stream has closed, for access logs),
 * `getProtocol()` and `encrypted`; listens, ends and destroys on the stream; and reads
 * anything else from the connection. It refuses to write or read, since the connection
 * carries other streams too.
 */
export function socketView(stream: ServerHttp2Stream): Socket {
  return new Proxy<View>({ stream, facts: connectionFacts(stream) }, VIEW_HANDLER) as unknown as Socket;
}
