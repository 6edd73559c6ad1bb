/** MAX_HEAD is the most header bytes a responder may send before its blank line. */
export const MAX_HEAD = 64 * 1024;

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
// Fields a responder may not set on the HTTP response: gatekit owns the connection framing.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** ResponseHead is the parsed CGI-style header of a FastCGI responder's FCGI_STDOUT (RFC 3875 section 6). */
export interface ResponseHead {
  readonly status: number;
  readonly reason: string | undefined;
  /** headers are the fields for the client, in order, without Status and hop-by-hop fields. */
  readonly headers: readonly (readonly [string, string])[];
  readonly location: string | undefined;
  /** localRedirect: a Location path with no Status: gatekit serves that path instead (RFC 3875 6.2.2). */
  readonly localRedirect: boolean;
}

/**
 * HeadParser collects FCGI_STDOUT until the blank line that ends the header (LF or CRLF),
 * then parses it; push returns the head and the body bytes after it once complete, and
 * throws an Error for a header gatekit cannot use (the client gets 502).
 */
export class HeadParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { head: ResponseHead; rest: Buffer } | undefined {
    const from = Math.max(0, this.buf.length - 3);
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const end = headEnd(this.buf, from);
    if (!end) {
      if (this.buf.length > MAX_HEAD) throw new Error(`header longer than ${MAX_HEAD} bytes`);
      return undefined;
    }
    if (end.head > MAX_HEAD) throw new Error(`header longer than ${MAX_HEAD} bytes`);
    return { head: parseHead(this.buf.toString('latin1', 0, end.head)), rest: this.buf.subarray(end.body) };
  }

  /** received tells whether any header byte came. */
  get received(): boolean { return this.buf.length > 0; }
}

function headEnd(buf: Buffer, from: number): { head: number; body: number } | undefined {
  if (buf[0] === 10) return { head: 0, body: 1 };
  if (buf[0] === 13 && buf[1] === 10) return { head: 0, body: 2 };
  for (let i = buf.indexOf(10, from); i >= 0; i = buf.indexOf(10, i + 1)) {
    if (buf[i + 1] === 10) return { head: i, body: i + 2 };
    if (buf[i + 1] === 13 && buf[i + 2] === 10) return { head: i, body: i + 3 };
  }
  return undefined;
}

/** parseHead parses header lines: `Name: value` fields, Status giving the status (default 200, or 302 with a client Location). */
export function parseHead(text: string): ResponseHead {
  let status: number | undefined;
  let reason: string | undefined;
  let location: string | undefined;
  const headers: [string, string][] = [];
  for (const raw of text ? text.split('\n') : []) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new Error(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === 'status') {
      const m = /^([1-5]\d\d)(?:\s+(.*))?$/.exec(value);
      if (!m || Number(m[1]) < 200) throw new Error(`bad Status ${JSON.stringify(value.slice(0, 80))}`);
      status = Number(m[1]);
      reason = m[2] || undefined;
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === 'location') location = value;
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) throw new Error(`bad characters in header ${name}`);
    headers.push([name, value]);
  }
  const localRedirect = status === undefined && location !== undefined && location.startsWith('/') && !location.startsWith('//');
  if (status === undefined) status = location !== undefined && !localRedirect ? 302 : 200;
  return { status, reason, headers, location, localRedirect };
}
