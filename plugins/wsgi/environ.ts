import type { Ctx } from '../../core/index.js';
import type { PythonApp } from '../../lib/index.js';

const NON_ASCII = /[^\x00-\x7f]/;

/** latin1 maps a decoded path to PEP 3333's "bytes as latin-1" native string. */
function latin1(s: string): string {
  return NON_ASCII.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

/** ENV_NAMES caches the CGI name of each header name as clients spell it ('' for headers never passed on). */
const ENV_NAMES = new Map<string, string>();
const ENV_NAMES_MAX = 1000;

/** envName is the CGI name of a request header, or '' for headers never passed on. */
function envName(raw: string): string {
  let name = ENV_NAMES.get(raw);
  if (name !== undefined) return name;
  const lower = raw.toLowerCase();
  // An underscore would let `X_Forwarded_For` pose as `X-Forwarded-For`; Proxy is httpoxy.
  name =
    lower === 'content-type'
      ? 'CONTENT_TYPE'
      : lower === 'content-length'
        ? 'CONTENT_LENGTH'
        : lower.includes('_') || lower === 'proxy'
          ? ''
          : `HTTP_${lower.toUpperCase().replace(/-/g, '_')}`;
  if (ENV_NAMES.size < ENV_NAMES_MAX) ENV_NAMES.set(raw, name); // names come from clients: a bounded cache
  return name;
}

/**
 * headPayload is a request's head, as its head frame carries it after the flag (see
 * HttpExchange), NUL-separated latin-1: first the values of the CGI variables every request
 * has, in the order of gatekit_wsgi.py's CGI_KEYS (REQUEST_METHOD, SCRIPT_NAME, PATH_INFO,
 * QUERY_STRING, RAW_URI, SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL, REMOTE_ADDR, REMOTE_PORT,
 * wsgi.url_scheme: names the worker knows need not travel), then the other variables as names
 * and values: REMOTE_USER, HTTP_* headers per PEP 3333 (repeated headers joined with ',',
 * cookies with '; '), CONTENT_*. SCRIPT_NAME is the route's mount point and PATH_INFO the rest
 * of the decoded path, SERVER_PROTOCOL `HTTP/2` over HTTP/2 (as Hypercorn says it). The
 * Python side adds the wsgi.* entries. `length`, the exact length of a buffered body, is its
 * CONTENT_LENGTH (a chunked upload then has one, and no HTTP_TRANSFER_ENCODING).
 */
export function headPayload(ctx: Ctx, length?: number): string {
  const req = ctx.req;
  let text =
    `${ctx.method}\0${latin1(ctx.mount)}\0${latin1(ctx.path.slice(ctx.mount.length))}\0${ctx.query}\0${ctx.uri}\0${ctx.host}\0${ctx.conn.port}` +
    `\0HTTP/${req.httpVersionMajor === 2 ? '2' : req.httpVersion}\0${ctx.remote}\0${req.socket.remotePort ?? ''}\0${ctx.scheme}`;
  const user = ctx.variable('user');
  if (user !== undefined) text += `\0REMOTE_USER\0${user}`;
  const names: string[] = [];
  const values: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = envName(raw[i]);
    if (name === '' || (length !== undefined && (name === 'CONTENT_LENGTH' || name === 'HTTP_TRANSFER_ENCODING'))) continue;
    const at = names.indexOf(name);
    if (at < 0) {
      names.push(name);
      values.push(raw[i + 1]);
    } else values[at] += `${name === 'HTTP_COOKIE' ? '; ' : ','}${raw[i + 1]}`;
  }
  for (let i = 0; i < names.length; i++) text += `\0${names[i]}\0${values[i]}`;
  if (length !== undefined) text += `\0CONTENT_LENGTH\0${length}`;
  return text;
}

/**
 * WSGI is how `wsgi` speaks to its pool: requests as PEP 3333 environs. A synchronous worker
 * cannot drop one request, so one past its timeout kills its worker.
 */
export const WSGI: PythonApp = { kind: 'wsgi', killOnTimeout: true, examples: 'wsgi hello:application or wsgi mysite.wsgi:application', head: headPayload };
