import { HttpError, type Ctx } from '../../core/index.js';

/**
 * RequestFraming is how a request's body goes upstream. The proxy decides it from the body
 * it sends, and writes the Content-Length or Transfer-Encoding itself: a client header,
 * a name in Connection or a header_up rule can neither copy nor remove it, so the upstream
 * reads exactly the bytes sent and the next request on a pooled connection stays whole.
 */
export interface RequestFraming {
  /** body is none, `length` bytes, or chunks. */
  readonly body: 'none' | 'length' | 'chunked';
  /** length is the Content-Length sent (0 too, as the client said it); undefined sends none. */
  readonly length: number | undefined;
}

/**
 * FRAMING_FIELDS are the fields that frame or route a message, which only the proxy writes;
 * they are never passed on from a client's headers or trailers, nor set by header_up/_down.
 */
export const FRAMING_FIELDS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'host']);

/** requestFraming reads the framing Node parsed the request by: chunked, a length, or no body. */
export function requestFraming(ctx: Ctx): RequestFraming {
  const h = ctx.req.headers;
  if (h['transfer-encoding'] !== undefined) return { body: 'chunked', length: undefined };
  const declared = h['content-length'];
  if (declared === undefined) return { body: 'none', length: undefined };
  const length = Number(declared); // Node took digits only, once
  if (!Number.isSafeInteger(length)) throw new HttpError(413, 'request body too large', { headers: { connection: 'close' } });
  return { body: length > 0 ? 'length' : 'none', length };
}

/** framingHeaders are the header fields that say how the body follows. */
export function framingHeaders(f: RequestFraming): string[] {
  if (f.body === 'chunked') return ['Transfer-Encoding', 'chunked'];
  return f.length === undefined ? [] : ['Content-Length', String(f.length)];
}

/**
 * TRAILER_BANNED are the fields a trailer may not carry (RFC 9110 6.5.1: framing, routing,
 * connection control); a chunked body's trailers go upstream without them.
 */
const TRAILER_BANNED = new Set([
  ...FRAMING_FIELDS,
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'content-type',
  'content-encoding',
  'content-range',
  'authorization',
  'cookie',
  'set-cookie',
]);

/** lastChunk is the end of a chunked body sent upstream: the zero chunk, the client's allowed trailers, a blank line. */
export function lastChunk(rawTrailers: readonly string[]): string {
  let last = '0\r\n';
  for (let i = 0; i < rawTrailers.length; i += 2) {
    if (!TRAILER_BANNED.has(rawTrailers[i].toLowerCase())) last += `${rawTrailers[i]}: ${rawTrailers[i + 1]}\r\n`;
  }
  return `${last}\r\n`;
}
