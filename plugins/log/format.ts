import type { Ctx, TemplateLike } from '../../core/index.js';

/** Entry is what the log knows about a finished request besides its Ctx. */
export interface Entry {
  readonly status: number;
  /** bytes is the response body as sent on the wire (after compression), without chunked framing. */
  readonly bytes: number;
  /** duration is in milliseconds, from arrival to the last byte handed to the socket. */
  readonly duration: number;
}

/** LineFormat renders one access-log line (without its newline). */
export type LineFormat = (ctx: Ctx, e: Entry) => string;

/** LOG_VARIABLES are the request variables the log adds; they have values in log formats only. */
export const LOG_VARIABLES = [
  { name: 'bytes', doc: 'response body bytes sent (in log formats)' },
  { name: 'duration', doc: 'seconds from arrival to the last byte sent, with millisecond resolution (in log formats)' },
  { name: 'referer', doc: 'the Referer header (in log formats)' },
  { name: 'user_agent', doc: 'the User-Agent header (in log formats)' },
  { name: 'request', doc: 'the request line: METHOD URI HTTP/VERSION (in log formats)' },
  { name: 'protocol', doc: 'the protocol: HTTP/1.0, HTTP/1.1 or HTTP/2.0, as Nginx writes $server_protocol (in log formats)' },
  { name: 'time_local', doc: 'the time in Common Log Format: 10/Oct/2000:13:55:36 +0000 (in log formats)' },
  { name: 'time_iso8601', doc: 'the time in ISO 8601 (in log formats)' },
] as const;

// Characters a log line must not carry raw: quotes, backslashes, controls and non-ASCII (nginx's escape=default).
const UNSAFE = /[\x00-\x1f"\\\x7f-\uffff]/;
const UNSAFE_ALL = /[\x00-\x1f"\\\x7f-\uffff]/g;

/** escapeValue writes unsafe characters as \xHH (UTF-8 bytes), as nginx does, so a value cannot forge a line or break quoting. */
export function escapeValue(s: string): string {
  if (!UNSAFE.test(s)) return s;
  return s.replace(UNSAFE_ALL, (c) =>
    Buffer.from(c)
      .toString('hex')
      .replace(/../g, (h) => `\\x${h.toUpperCase()}`),
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let clfSecond = -1;
let clfText = '';

/** timeLocal formats now as `10/Oct/2000:13:55:36 +0200` (local time), recomputed at most once a second. */
export function timeLocal(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second === clfSecond) return clfText;
  const d = new Date(second * 1000);
  const off = -d.getTimezoneOffset();
  const pad = (n: number): string => String(n).padStart(2, '0');
  const zone = `${off >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
  clfText = `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone}`;
  clfSecond = second;
  return clfText;
}

const header = (ctx: Ctx, name: string): string => {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
};
const seconds = (ms: number): string => (ms / 1000).toFixed(3);
const protocol = (ctx: Ctx): string => `HTTP/${ctx.req.httpVersion}`;
const requestLine = (ctx: Ctx): string => `${ctx.method} ${ctx.uri} ${protocol(ctx)}`;

function common(ctx: Ctx, e: Entry): string {
  const user = ctx.vars.get('user');
  return `${ctx.remote} - ${user ? escapeValue(user) : '-'} [${timeLocal()}] "${escapeValue(requestLine(ctx))}" ${e.status} ${e.bytes}`;
}

function combined(ctx: Ctx, e: Entry): string {
  return `${common(ctx, e)} "${escapeValue(header(ctx, 'referer')) || '-'}" "${escapeValue(header(ctx, 'user-agent')) || '-'}"`;
}

function json(ctx: Ctx, e: Entry): string {
  return JSON.stringify({
    time: new Date().toISOString(),
    remote: ctx.remote,
    host: ctx.host,
    method: ctx.method,
    uri: ctx.uri,
    protocol: protocol(ctx),
    status: e.status,
    bytes: e.bytes,
    duration: Number(seconds(e.duration)),
    request_id: ctx.requestId,
    user: ctx.vars.get('user'),
    referer: ctx.req.headers.referer,
    user_agent: ctx.req.headers['user-agent'],
    upstream: ctx.variable('upstream'),
  });
}

/** logVariable resolves a variable for a log template: the log's own, else the request's. */
function logVariable(ctx: Ctx, e: Entry, name: string): string | undefined {
  switch (name) {
    case 'bytes':
      return String(e.bytes);
    case 'duration':
      return seconds(e.duration);
    case 'status':
      return String(e.status);
    case 'referer':
      return header(ctx, 'referer');
    case 'user_agent':
      return header(ctx, 'user-agent');
    case 'request':
      return requestLine(ctx);
    case 'protocol':
      return protocol(ctx);
    case 'time_local':
      return timeLocal();
    case 'time_iso8601':
      return new Date().toISOString();
    default:
      return ctx.variable(name);
  }
}

/** compileFormat turns the `format` option into a line renderer: a named format or a template. */
export function compileFormat(t: TemplateLike): LineFormat {
  switch (t.source) {
    case 'common':
      return common;
    case 'combined':
      return combined;
    case 'json':
      return json;
  }
  return (ctx, e) =>
    t.render((name) => {
      const v = logVariable(ctx, e, name);
      return v === undefined || v === '' ? '-' : escapeValue(v);
    });
}
