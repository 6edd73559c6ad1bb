import type { Ctx, TemplateLike } from '../../core/index.js';

/** PathSpec says how the upstream path is made from the request's. */
export interface PathSpec {
  /** strip is a prefix to remove ('' for the route's mount point); undefined keeps the path. */
  readonly strip?: string;
  readonly rewrite?: TemplateLike;
}

/**
 * upstreamUri is the path and query sent upstream. By default it is the path as the client
 * sent it (still percent-encoded, nginx's proxy_pass without a URI), unless the kernel had to
 * normalise it (dot segments, doubled slashes): then the normalised path, re-encoded, so the
 * upstream sees the path that was routed. strip_prefix cuts a prefix at a segment boundary;
 * rewrite replaces the path and, when its result has no '?', keeps the query.
 */
export function upstreamUri(ctx: Ctx, spec: PathSpec): string {
  if (spec.rewrite) {
    const uri = encodeUnsafe(ctx.renderUrl(spec.rewrite));
    const withSlash = uri.startsWith('/') ? uri : `/${uri}`;
    return withSlash.includes('?') || !ctx.query ? withSlash : `${withSlash}?${ctx.query}`;
  }
  let path = routedPath(ctx);
  if (spec.strip !== undefined) path = stripPrefix(path, spec.strip || ctx.mount);
  return ctx.query ? `${path}?${ctx.query}` : path;
}

/** routedPath is the raw path when it decodes to the routed one, else the routed path re-encoded. */
function routedPath(ctx: Ctx): string {
  const raw = ctx.rawPath;
  if (raw === ctx.path) return raw;
  let decoded: string | undefined;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    decoded = undefined;
  }
  if (decoded === ctx.path) return encodeUnsafe(raw);
  return encodeUnsafe(ctx.path.replace(/%/g, '%25').replace(/\?/g, '%3F').replace(/#/g, '%23'));
}

/**
 * stripPrefix removes `prefix` (decoded, as routes are) when the raw path starts with it at a
 * segment boundary, however the client escaped it ('/%61pi/x', '/api%2Fx' for '/api'); ''
 * becomes '/'.
 */
export function stripPrefix(path: string, prefix: string): string {
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (!p) return path;
  const end = path.startsWith(p) ? p.length : escapedPrefixEnd(path, p);
  if (end === undefined) return path;
  const rest = path.slice(end);
  if (rest === '') return '/';
  if (rest.startsWith('/')) return rest;
  return /^%2f/i.test(rest) ? `/${rest.slice(3)}` : path;
}

/** escapedPrefixEnd is where a raw path stops spelling `prefix`, each byte as itself or as %XX; undefined if it does not. */
function escapedPrefixEnd(raw: string, prefix: string): number | undefined {
  let i = 0;
  for (const byte of Buffer.from(prefix, 'utf8')) {
    if (raw.charCodeAt(i) === 37 /* % */) {
      const v = parseInt(raw.slice(i + 1, i + 3), 16);
      if (v !== byte || !/^[0-9a-f]{2}$/i.test(raw.slice(i + 1, i + 3))) return undefined;
      i += 3;
    } else if (raw.charCodeAt(i) === byte && byte < 128) i++;
    else return undefined;
  }
  return i;
}

/**
 * encodeUnsafe percent-encodes what may not appear raw in a request target (spaces, controls,
 * non-ASCII, a '%' not starting an escape), leaving reserved characters and escapes as they are.
 */
export function encodeUnsafe(s: string): string {
  if (/^[A-Za-z0-9\-._~!$&'()*+,;=:@/?[\]]*$/.test(s)) return s;
  let out = '';
  for (const ch of s) {
    if (/[A-Za-z0-9\-._~!$&'()*+,;=:@/?[\]]/.test(ch)) out += ch;
    else if (ch === '%') out += '%';
    else out += encodeURIComponent(ch);
  }
  return out.replace(/%(?![0-9A-Fa-f]{2})/g, '%25');
}
