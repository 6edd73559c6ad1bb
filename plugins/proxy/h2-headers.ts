import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';

/**
 * CONNECTION_SPECIFIC are the fields an HTTP/2 message may not carry (RFC 9113 8.2.2); `te`
 * is allowed with the one value `trailers`, which gRPC requires.
 */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** H2RequestLine is what the pseudo-header fields of a request say. */
export interface H2RequestLine {
  readonly method: string;
  readonly path: string;
  /** scheme is the upstream's: http for h2c, https for h2. */
  readonly scheme: string;
}

/**
 * h2RequestHeaders turns the flat header list the proxy builds for an upstream (requestHeaders)
 * into an HTTP/2 header block: Host becomes `:authority`, names go lowercase, the fields about
 * an HTTP/1.1 connection or its framing go (the stream frames the body), repeats become lists.
 */
export function h2RequestHeaders(line: H2RequestLine, flat: readonly string[]): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = { ':method': line.method, ':scheme': line.scheme, ':path': line.path };
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i].toLowerCase();
    const value = flat[i + 1];
    if (name === 'host') {
      out[':authority'] = value;
      continue;
    }
    if (CONNECTION_SPECIFIC.has(name)) continue;
    if (name === 'te') {
      if (/\btrailers\b/i.test(value)) out.te = 'trailers';
      continue;
    }
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}

/** flatFields lists an HTTP/2 header block as flat name, value pairs, without its pseudo-header fields. */
export function flatFields(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name.charCodeAt(0) === 58 /* : */ || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, String(value));
  }
  return out;
}
