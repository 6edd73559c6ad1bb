import type { Ctx } from '../../core/index.js';
import { FRAME } from './frames.js';

const NON_ASCII = /[^\x00-\x7f]/;

/** latin1 maps a decoded path to PEP 3333's "bytes as latin-1" native string. */
function latin1(s: string): string {
  return NON_ASCII.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

/** envName is the CGI name of a request header, or undefined for headers never passed on. */
function envName(lower: string): string | undefined {
  if (lower === 'content-type') return 'CONTENT_TYPE';
  if (lower === 'content-length') return 'CONTENT_LENGTH';
  // An underscore would let `X_Forwarded_For` pose as `X-Forwarded-For`; Proxy is httpoxy.
  if (lower.includes('_') || lower === 'proxy') return undefined;
  return `HTTP_${lower.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * headPayload is the environ of a request, as the head frame carries it: CGI variables
 * and HTTP_* headers per PEP 3333, SCRIPT_NAME being the route's mount point and PATH_INFO
 * the rest of the decoded path. The Python side adds the wsgi.* entries. `length`, the
 * exact length of a buffered body, is its CONTENT_LENGTH (a chunked upload then has one).
 */
export function headPayload(ctx: Ctx, length?: number): Buffer {
  const req = ctx.req;
  const env: Record<string, string> = {
    REQUEST_METHOD: ctx.method,
    SCRIPT_NAME: latin1(ctx.mount),
    PATH_INFO: latin1(ctx.path.slice(ctx.mount.length)),
    QUERY_STRING: ctx.query,
    RAW_URI: ctx.uri,
    SERVER_NAME: ctx.host,
    SERVER_PORT: String(ctx.conn.port),
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REMOTE_ADDR: ctx.remote,
    REMOTE_PORT: String(req.socket.remotePort ?? ''),
    'wsgi.url_scheme': ctx.scheme,
  };
  const user = ctx.variable('user');
  if (user !== undefined) env.REMOTE_USER = user;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    const name = envName(lower);
    if (!name) continue;
    const prev = env[name];
    env[name] = prev === undefined ? raw[i + 1] : `${prev}${lower === 'cookie' ? '; ' : ','}${raw[i + 1]}`;
  }
  if (length !== undefined) {
    env.CONTENT_LENGTH = String(length);
    delete env.HTTP_TRANSFER_ENCODING;
  }
  let text = '';
  for (const k in env) text += text ? `\0${k}\0${env[k]}` : `${k}\0${env[k]}`;
  const len = Buffer.byteLength(text, 'latin1');
  const out = Buffer.allocUnsafe(5 + len);
  out[0] = FRAME.head;
  out.writeUInt32BE(len, 1);
  out.write(text, 5, 'latin1');
  return out;
}

/** hasBody tells whether the request announces a body (a length above 0, or chunked). */
export function hasBody(ctx: Ctx): boolean {
  const h = ctx.req.headers;
  return ctx.body !== ctx.req || h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}
