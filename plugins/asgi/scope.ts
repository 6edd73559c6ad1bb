import { textFrame, type Ctx } from '../../core/index.js';
import { FRAME } from './settings.js';

/**
 * headFrame is the head frame of a request: the ASGI scope's fields as a JSON array that
 * gatekit_asgi.py's Worker.scope() unpacks: [type, http_version, method, scheme, path,
 * raw_path, query_string, root_path, client host, client port, server host, server port,
 * headers (flat, names lowercased, latin-1), subprotocols]. `path` is the decoded path and
 * root_path the route's mount point, as ASGI and Starlette expect. `length`, the exact
 * length of a buffered body, is sent as its content-length (in place of any framing header).
 */
export function headFrame(ctx: Ctx, websocket: boolean, length?: number): Buffer {
  const req = ctx.req;
  const raw = req.rawHeaders;
  let headers: string[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i += 2) { headers[i] = raw[i].toLowerCase(); headers[i + 1] = raw[i + 1]; }
  if (length !== undefined) headers = withLength(headers, length);
  const secure = ctx.scheme === 'https';
  const protocols = websocket ? (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean) : [];
  const sock = req.socket;
  const scope = [
    websocket ? 'websocket' : 'http', req.httpVersion, ctx.method, websocket ? (secure ? 'wss' : 'ws') : ctx.scheme,
    ctx.path, ctx.rawPath, ctx.query, ctx.mount,
    sock.remoteAddress ?? '', sock.remotePort ?? 0, sock.localAddress ?? ctx.host, ctx.conn.port, headers, protocols,
  ];
  return textFrame(FRAME.head, JSON.stringify(scope));
}

/** withLength is a flat header list with content-length set to `length`, and no transfer-encoding. */
function withLength(headers: readonly string[], length: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'content-length' && headers[i] !== 'transfer-encoding') out.push(headers[i], headers[i + 1]);
  }
  out.push('content-length', String(length));
  return out;
}

/** hasBody tells whether the request announces a body (a length above 0, or chunked). */
export function hasBody(ctx: Ctx): boolean {
  const h = ctx.req.headers;
  return ctx.body !== ctx.req || h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/** nulFields splits a latin-1, NUL-separated payload (status or subprotocol first, then header names and values). */
export function nulFields(payload: Buffer): string[] {
  return payload.toString('latin1').split('\0');
}
