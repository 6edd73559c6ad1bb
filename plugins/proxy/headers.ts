import type { Ctx, TemplateLike } from '../../core/index.js';
import { FRAMING_FIELDS, framingHeaders, type RequestFraming } from './framing.js';

/** HeaderOp is one `header_up` / `header_down`: set, add or remove a header. */
export interface HeaderOp {
  readonly op: 'set' | 'add' | 'remove';
  /** name is lowercase. */
  readonly name: string;
  readonly value?: TemplateLike;
}

/**
 * HOP_BY_HOP are the headers that concern one connection only (RFC 9110 7.6.1), never
 * forwarded; headers named in Connection are dropped too. Expect is answered by the gate.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/** FORWARDING are the headers the proxy sets itself (X-Forwarded-For is appended to). */
const FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip']);

/** connectionTokens lists the lowercase header names a Connection header names. */
function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length !== 10 || raw[i].toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1].split(',')) {
      const name = t.trim().toLowerCase();
      if (name && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade') (out ??= new Set()).add(name);
    }
  }
  return out;
}

/**
 * webSocket tells whether a request asks to become a WebSocket, the one upgrade the proxy
 * carries; any other (h2c, a custom protocol) goes upstream as a plain request, its Upgrade
 * dropped, so no tunnel opens past the routes and middleware.
 */
export function webSocket(ctx: Ctx): boolean {
  return ctx.upgrade !== undefined && /^\s*websocket\s*$/i.test(ctx.req.headers.upgrade ?? '');
}

/** RequestHeaderSpec is what shapes the headers sent upstream. */
export interface RequestHeaderSpec {
  readonly preserveHost: boolean;
  readonly ops: readonly HeaderOp[];
}

/**
 * requestHeaders builds the flat header list sent upstream: the client's headers minus the
 * hop-by-hop ones, X-Forwarded-For appended, X-Forwarded-Proto/-Host and X-Real-IP set,
 * Host per preserve_host, then header_up, then the framing of the body actually sent
 * (never the client's, and never dropped). An upgrade keeps its Upgrade and Connection.
 */
export function requestHeaders(ctx: Ctx, spec: RequestHeaderSpec, upstreamHost: string, framing: RequestFraming): string[] {
  const raw = ctx.req.rawHeaders;
  const named = connectionTokens(raw);
  const out: string[] = [];
  let xff = '';
  let te = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (FRAMING_FIELDS.has(lower)) continue; // written below from what is sent; Host is ctx.authority
    if (FORWARDING.has(lower)) {
      if (lower === 'x-forwarded-for') xff = xff ? `${xff}, ${raw[i + 1]}` : raw[i + 1];
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) {
      if (lower === 'te' && /\btrailers\b/i.test(raw[i + 1])) te = true;
      continue;
    }
    if (lower === 'trailer' && framing.body !== 'chunked') continue; // no chunks, no trailers
    out.push(name, raw[i + 1]);
  }
  const host = ctx.authority; // the Host header, or an absolute-form target's authority over it
  const remote = ctx.remote;
  out.push('Host', spec.preserveHost && host ? host : upstreamHost);
  out.push('X-Forwarded-For', xff ? `${xff}, ${remote}` : remote);
  out.push('X-Forwarded-Proto', ctx.scheme, 'X-Forwarded-Host', host ?? ctx.host, 'X-Real-IP', remote);
  const headers = spec.ops.length ? applyOps(out, spec.ops, ctx) : out;
  headers.push(...framingHeaders(framing));
  if (te) headers.push('TE', 'trailers');
  if (webSocket(ctx)) headers.push('Connection', 'Upgrade', 'Upgrade', ctx.req.headers.upgrade!);
  return headers;
}

/**
 * RESERVED are the headers header_up and header_down may not touch: the proxy frames each
 * message and manages each connection itself.
 */
const RESERVED = new Set([...HOP_BY_HOP, 'content-length', 'trailer']);

/** reservedHeader tells why a header_up / header_down operation may not apply, or undefined when it may. */
export function reservedHeader(where: 'header_up' | 'header_down', op: HeaderOp['op'], lower: string): string | undefined {
  if (RESERVED.has(lower)) return 'the proxy frames messages and manages connections itself';
  if (where === 'header_up' && lower === 'host' && op !== 'set') return 'a request has exactly one Host: set it, or use preserve_host';
  return undefined;
}

/**
 * responseHeaders filters an upstream response's raw headers for the client: hop-by-hop
 * ones go (except Upgrade and Connection of a 101), then header_down applies. Framing is
 * the proxy's own: a Content-Length beside a Transfer-Encoding goes (RFC 9112 6.3: the body
 * was read as chunks, and the client gets it re-framed), a repeated one is sent once, and
 * Trailer only goes where the answer is chunked to a client that takes trailers.
 */
export function responseHeaders(raw: readonly string[], ops: readonly HeaderOp[], ctx: Ctx, upgrade = false): string[] {
  const named = connectionTokens(raw);
  const chunked = hasHeader(raw, 'transfer-encoding');
  const out: string[] = [];
  let length = false;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (upgrade && (lower === 'upgrade' || lower === 'connection')) {
      out.push(raw[i], raw[i + 1]);
      continue;
    }
    if ((HOP_BY_HOP.has(lower) && lower !== 'expect') || named?.has(lower)) continue;
    if (lower === 'content-length') {
      if (chunked || length) continue;
      length = true;
      out.push(raw[i], raw[i + 1].split(',')[0].trim()); // the parser checked that a list repeats one value
      continue;
    }
    if (lower === 'trailer' && !(chunked && ctx.req.httpVersion !== '1.0')) continue; // HTTP/1.1 chunks and HTTP/2 frames carry trailers
    out.push(raw[i], raw[i + 1]);
  }
  return ops.length ? applyOps(out, ops, ctx) : out;
}

function hasHeader(raw: readonly string[], lower: string): boolean {
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === lower.length && raw[i].toLowerCase() === lower) return true;
  return false;
}

/**
 * requestHead serializes the request line and headers sent upstream (always HTTP/1.1);
 * `close` asks the upstream to close the connection after answering (no keep-alive pool).
 */
export function requestHead(method: string, path: string, headers: readonly string[], close: boolean): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return close ? `${head}Connection: close\r\n\r\n` : `${head}\r\n`;
}

/**
 * rewriteLocations points Location and Refresh values that name the upstream itself
 * (one of `origins`, then a path) at `origin`, the address the client used, with `prefix`
 * (a stripped mount point) put back in front of the path: what nginx's `proxy_redirect
 * default` does. Other values pass as they are.
 */
export function rewriteLocations(headers: string[], origins: readonly string[], origin: string, prefix: string): string[] {
  // in place: the list is this response's own
  for (let i = 0; i < headers.length; i += 2) {
    const lower = headers[i].toLowerCase();
    if (lower === 'location') headers[i + 1] = rewriteUrl(headers[i + 1], origins, origin, prefix);
    else if (lower === 'refresh')
      headers[i + 1] = headers[i + 1].replace(/(url\s*=\s*)(\S+)/i, (_m, at: string, url: string) => at + rewriteUrl(url, origins, origin, prefix));
  }
  return headers;
}

function rewriteUrl(url: string, origins: readonly string[], origin: string, prefix: string): string {
  const lower = url.toLowerCase();
  for (const o of origins) {
    if (!lower.startsWith(o)) continue;
    const rest = url.slice(o.length);
    if (rest !== '' && !'/?#'.includes(rest[0])) continue; // http://host:8080 is not http://host:80
    const path = rest.startsWith('/') ? rest : `/${rest}`;
    return `${origin}${prefix}${path}`;
  }
  return url;
}

/** applyOps applies set / add / remove operations to a flat header list, rendering values per request. */
export function applyOps(headers: string[], ops: readonly HeaderOp[], ctx: Ctx): string[] {
  let out = headers;
  for (const o of ops) {
    if (o.op !== 'add') out = removeHeader(out, o.name);
    if (o.op !== 'remove' && o.value) out.push(o.name, ctx.renderField(o.value, o.name));
  }
  return out;
}

function removeHeader(headers: string[], lower: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i].toLowerCase() !== lower) out.push(headers[i], headers[i + 1]);
  return out;
}

/** groupHeaders turns a flat list into setHeader calls' shape: one entry per name, repeats as arrays. */
export function groupHeaders(flat: readonly string[]): Map<string, { name: string; values: string[] }> {
  const out = new Map<string, { name: string; values: string[] }>();
  for (let i = 0; i < flat.length; i += 2) {
    const lower = flat[i].toLowerCase();
    const e = out.get(lower);
    if (e) e.values.push(flat[i + 1]);
    else out.set(lower, { name: flat[i], values: [flat[i + 1]] });
  }
  return out;
}

/** TOKEN_RE is an HTTP header name (RFC 9110 token). */
export const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
