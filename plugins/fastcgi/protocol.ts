// FastCGI 1.0 records (https://fastcgi-archives.github.io/FastCGI_Specification.html),
// client side, one request per connection at a time (no multiplexing): request id 1.

/** RecordType is a FastCGI record type (spec section 8). */
export const enum RecordType {
  BeginRequest = 1,
  AbortRequest = 2,
  EndRequest = 3,
  Params = 4,
  Stdin = 5,
  Stdout = 6,
  Stderr = 7,
  Data = 8,
  GetValues = 9,
  GetValuesResult = 10,
  UnknownType = 11,
}

/** ProtocolStatus is FCGI_END_REQUEST's protocolStatus. */
export const enum ProtocolStatus {
  RequestComplete = 0,
  CantMpxConn = 1,
  Overloaded = 2,
  UnknownRole = 3,
}

/** REQUEST_ID is the id of every request: with multiplexing off one is enough. */
export const REQUEST_ID = 1;
const HEADER = 8;
const MAX_CONTENT = 0xffff;
const RESPONDER = 1;
const KEEP_CONN = 1;
const EMPTY = Buffer.alloc(0);
/** BEGIN is the size of FCGI_BEGIN_REQUEST: a header and 8 bytes of body. */
const BEGIN = HEADER + 8;

/** header writes a record header for `length` content bytes (no padding) into `buf` at `at`. */
function header(buf: Buffer, at: number, type: RecordType, length: number): void {
  buf[at] = 1; // version
  buf[at + 1] = type;
  buf.writeUInt16BE(REQUEST_ID, at + 2);
  buf.writeUInt16BE(length, at + 4);
  buf[at + 6] = 0; // padding
  buf[at + 7] = 0;
}

/** beginRequest is FCGI_BEGIN_REQUEST for the responder role, asking to keep the connection when `keep`. */
export function beginRequest(keep: boolean): Buffer {
  const buf = Buffer.alloc(BEGIN);
  writeBegin(buf, keep);
  return buf;
}

/** writeBegin writes FCGI_BEGIN_REQUEST (BEGIN bytes) at the start of `buf`. */
function writeBegin(buf: Buffer, keep: boolean): void {
  header(buf, 0, RecordType.BeginRequest, 8);
  buf.writeUInt16BE(RESPONDER, HEADER);
  buf[HEADER + 2] = keep ? KEEP_CONN : 0;
  buf.fill(0, HEADER + 3, BEGIN); // reserved
}

/**
 * stream frames `data` as records of `type` (FCGI_PARAMS, FCGI_STDIN), split at 65535 bytes;
 * an empty `data` is the empty record that ends the stream.
 */
export function stream(type: RecordType, data: Buffer): Buffer {
  if (data.length <= MAX_CONTENT) {
    const buf = Buffer.allocUnsafe(HEADER + data.length);
    header(buf, 0, type, data.length);
    data.copy(buf, HEADER);
    return buf;
  }
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_CONTENT) parts.push(stream(type, data.subarray(at, Math.min(at + MAX_CONTENT, data.length))));
  return Buffer.concat(parts);
}

/**
 * encodeParams encodes name-value pairs (spec 3.4): each length in 1 byte below 128, else
 * in 4 bytes with the high bit set. The result is FCGI_PARAMS content, not yet framed.
 * Names and values are latin1 (one byte a character), so the pairs are joined as one
 * latin1 string and written once: a native write per name and value cost more.
 */
export function encodeParams(params: Readonly<Record<string, string>>): Buffer {
  let text = '';
  for (const name in params) {
    const value = params[name];
    text += pairLength(name.length) + pairLength(value.length) + name + value;
  }
  return Buffer.from(text, 'latin1');
}

function pairLength(n: number): string {
  return n < 128 ? String.fromCharCode(n) : String.fromCharCode(0x80 | (n >>> 24), (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/**
 * requestHead frames the start of a request in one buffer, for one write: FCGI_BEGIN_REQUEST,
 * the encoded `params` as FCGI_PARAMS and the empty record that ends them, then `stdin` as
 * FCGI_STDIN and its end when the whole body is known (undefined: it is streamed after).
 */
export function requestHead(params: Buffer, keep: boolean, stdin?: Buffer): Buffer {
  if (params.length > MAX_CONTENT || (stdin?.length ?? 0) > MAX_CONTENT) {
    const parts = [beginRequest(keep), stream(RecordType.Params, params), stream(RecordType.Params, EMPTY)];
    if (stdin?.length) parts.push(stream(RecordType.Stdin, stdin));
    if (stdin) parts.push(stream(RecordType.Stdin, EMPTY));
    return Buffer.concat(parts);
  }
  const stdinRecords = !stdin ? 0 : stdin.length ? 2 * HEADER + stdin.length : HEADER;
  const buf = Buffer.allocUnsafe(BEGIN + HEADER + params.length + HEADER + stdinRecords);
  writeBegin(buf, keep);
  let at = BEGIN;
  header(buf, at, RecordType.Params, params.length);
  at += HEADER + params.copy(buf, at + HEADER);
  header(buf, at, RecordType.Params, 0);
  at += HEADER;
  if (!stdin) return buf;
  if (stdin.length) {
    header(buf, at, RecordType.Stdin, stdin.length);
    at += HEADER + stdin.copy(buf, at + HEADER);
  }
  header(buf, at, RecordType.Stdin, 0);
  return buf;
}

/** decodeParams reads name-value pairs back (for tests and FCGI_GET_VALUES_RESULT). */
export function decodeParams(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  const len = (): number => {
    if (buf[at] < 128) return buf[at++];
    const v = buf.readUInt32BE(at) & 0x7fffffff;
    at += 4;
    return v;
  };
  while (at < buf.length) {
    const n = len();
    const v = len();
    out[buf.toString('latin1', at, at + n)] = buf.toString('latin1', at + n, at + n + v);
    at += n + v;
  }
  return out;
}

/** FcgiRecord is one record received: its type and content (padding dropped). */
export interface FcgiRecord {
  readonly type: RecordType; // as read: a number no member names is possible, and skipped
  readonly requestId: number;
  readonly content: Buffer;
}

/** RecordReader cuts a byte stream into records; push returns those it completed. */
export class RecordReader {
  private pending: Buffer | undefined;

  push(chunk: Buffer): FcgiRecord[] {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: FcgiRecord[] = [];
    for (;;) {
      if (buf.length < HEADER) break;
      if (buf[0] !== 1) throw new Error(`bad FastCGI record version ${buf[0]}`);
      const length = buf.readUInt16BE(4);
      const end = HEADER + length + buf[6];
      if (buf.length < end) break;
      out.push({ type: buf[1], requestId: buf.readUInt16BE(2), content: buf.subarray(HEADER, HEADER + length) });
      buf = buf.subarray(end);
    }
    this.pending = buf.length ? buf : undefined;
    return out;
  }

  /** partial tells whether bytes of an unfinished record are held. */
  get partial(): boolean {
    return this.pending !== undefined;
  }
}

/** endRequest reads FCGI_END_REQUEST's content: the app's exit status and the protocol status. */
export function endRequest(content: Buffer): { appStatus: number; protocolStatus: number } {
  return { appStatus: content.length >= 4 ? content.readUInt32BE(0) : 0, protocolStatus: content[4] ?? 0 };
}
