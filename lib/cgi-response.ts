/** CGI_MAX_HEAD is the most header bytes a script may print before its blank line. */
export const CGI_MAX_HEAD = 64 * 1024;

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
// Fields a script may not set on the HTTP response: the server owns the connection framing.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** CgiHead is a CGI-style response header (a CGI script's or a FastCGI responder's), parsed. */
export interface CgiHead {
  readonly status: number;
  readonly reason: string | undefined;
  /** headers are the fields for the client, in order, without Status and hop-by-hop fields. */
  readonly headers: readonly (readonly [string, string])[];
  /** location is the Location field, if any. */
  readonly location: string | undefined;
  /** localRedirect: a Location path with no Status: the server serves that path instead (RFC 3875 6.2.2). */
  readonly localRedirect: boolean;
}

/** BadCgiHead is a script's header the server cannot use; the client gets 502. */
export class BadCgiHead extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadCgiHead';
  }
}

/**
 * CgiHeadParser collects a script's output until the blank line that ends its header (lines
 * may end in LF or CRLF), then parses it per RFC 3875 section 6. push returns the body
 * bytes that came after the header once it is complete, else undefined; it throws BadCgiHead.
 */
export class CgiHeadParser {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): { head: CgiHead; rest: Buffer } | undefined {
    const prev = this.size;
    this.chunks.push(chunk);
    this.size += chunk.length;
    const buf = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
    const end = headEnd(buf, Math.max(0, prev - 3));
    if (!end) {
      if (this.size > CGI_MAX_HEAD) throw new BadCgiHead(`header longer than ${CGI_MAX_HEAD} bytes`);
      this.chunks = [buf];
      return undefined;
    }
    if (end.head > CGI_MAX_HEAD) throw new BadCgiHead(`header longer than ${CGI_MAX_HEAD} bytes`);
    return { head: parseCgiHead(buf.toString('latin1', 0, end.head)), rest: buf.subarray(end.body) };
  }

  /** received tells whether any header byte came. */
  get received(): boolean {
    return this.size > 0;
  }

  /** end is called at the end of the output: a header never finished is an error. */
  end(): never {
    throw new BadCgiHead(this.size ? 'output ended inside the header' : 'no output');
  }
}

/** headEnd finds the blank line: where the header text ends and the body starts. */
function headEnd(buf: Buffer, from: number): { head: number; body: number } | undefined {
  if (buf[0] === 10) return { head: 0, body: 1 };
  if (buf[0] === 13 && buf[1] === 10) return { head: 0, body: 2 };
  for (let i = buf.indexOf(10, from); i >= 0; i = buf.indexOf(10, i + 1)) {
    if (buf[i + 1] === 10) return { head: i, body: i + 2 };
    if (buf[i + 1] === 13 && buf[i + 2] === 10) return { head: i, body: i + 3 };
  }
  return undefined;
}

/** parseHead parses header lines: every line a `Name: value` field, at least one of Content-Type, Location or Status. */
export function parseCgiHead(text: string): CgiHead {
  let status: number | undefined;
  let reason: string | undefined;
  let location: string | undefined;
  let typed = false;
  const headers: [string, string][] = [];
  if (text === '') throw new BadCgiHead('empty header');
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new BadCgiHead(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === 'status') {
      const m = /^([1-5]\d\d)(?:\s+(.*))?$/.exec(value);
      if (!m || Number(m[1]) < 200) throw new BadCgiHead(`bad Status ${JSON.stringify(value.slice(0, 80))}`);
      status = Number(m[1]);
      reason = m[2] || undefined;
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === 'location') location = value;
    if (lower === 'content-type') typed = true;
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) throw new BadCgiHead(`bad characters in header ${name}`);
    headers.push([name, value]);
  }
  if (status === undefined && location === undefined && !typed) throw new BadCgiHead('no Content-Type, Location or Status header');
  const localRedirect = status === undefined && location !== undefined && location.startsWith('/') && !location.startsWith('//');
  if (status === undefined) status = location !== undefined && !localRedirect ? 302 : 200;
  return { status, reason, headers, location, localRedirect };
}
