import type { Ctx } from '../../core/index.js';

const NON_ASCII = /[^\x00-\x7f]/;

/** utf8AsLatin1 is a string's UTF-8 bytes as a latin-1 string (one character per byte), as the head frame carries text. */
function utf8AsLatin1(s: string): string {
  return NON_ASCII.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

/**
 * headPayload is a request's head, as its head frame carries it after the flag (see
 * HttpExchange): the ASGI scope's fields, NUL-separated, latin-1, that gatekit_asgi.py's
 * Worker.scope() reads: type, http_version, method, scheme, path, raw_path, query_string,
 * root_path, client host, client port, server host, server port, subprotocols
 * (comma-separated), then the headers' names (lowercased) and values. `path` is the decoded
 * path (UTF-8) and root_path the route's mount point, as ASGI and Starlette expect. `length`,
 * the exact length of a buffered body, is sent as its content-length (in place of any
 * framing header).
 */
export function headPayload(ctx: Ctx, websocket: boolean, length?: number): string {
  const req = ctx.req;
  const sock = req.socket;
  const scheme = websocket ? (ctx.scheme === 'https' ? 'wss' : 'ws') : ctx.scheme;
  const protocols = websocket
    ? (req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .join(',')
    : '';
  // ASGI's http_version is "1.0", "1.1" or "2"
  let text =
    `${websocket ? 'websocket' : 'http'}\0${req.httpVersionMajor === 2 ? '2' : req.httpVersion}\0${ctx.method}\0${scheme}\0${utf8AsLatin1(ctx.path)}\0${ctx.rawPath}` +
    `\0${ctx.query}\0${utf8AsLatin1(ctx.mount)}\0${sock.remoteAddress ?? ''}\0${sock.remotePort ?? 0}\0${sock.localAddress ?? ctx.host}\0${ctx.conn.port}\0${protocols}`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (length !== undefined && (name === 'content-length' || name === 'transfer-encoding')) continue;
    text += `\0${name}\0${raw[i + 1]}`;
  }
  if (length !== undefined) text += `\0content-length\0${length}`;
  return text;
}

/** nulFields splits a latin-1, NUL-separated payload (status or subprotocol first, then header names and values). */
export function nulFields(payload: Buffer): string[] {
  return payload.toString('latin1').split('\0');
}
