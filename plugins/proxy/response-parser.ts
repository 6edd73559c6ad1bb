/** UpstreamHead is a parsed response head: status line and headers as sent (flat name, value pairs). */
export interface UpstreamHead {
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly rawHeaders: string[];
}

/** ParserEvents receive a response as it is parsed; body chunks are views of the fed buffers, not copies. */
export interface ParserEvents {
  /** head gets the final head (or a 101's). */
  head(h: UpstreamHead): void;
  /** interim gets a 1xx interim head other than 100 Continue (103 Early Hints); the final head follows. */
  interim?(h: UpstreamHead): void;
  body(chunk: Buffer): void;
  /** trailers gets the fields after a chunked body, when there are any. */
  trailers(raw: string[]): void;
}

/** BadResponse is an upstream response gatekit cannot pass on: the exchange answers 502. */
export class BadResponse extends Error {
  readonly code = 'EBADRESPONSE';
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Complete,
  Upgraded,
}

const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 4096;
const CRLF = 0x0a0d; // '\r\n' read little-endian as a 16-bit word
const CRLF_TEXT = '\r\n';
const STATUS_LINE = /^HTTP\/1\.([01]) (\d\d\d)(?: ([^]*))?$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Header text may hold tab, visible ASCII and obs-text, and CR only before LF: anything else
// (NUL, bare CR or LF, other controls) is refused rather than passed on (RFC 9112 2.2, 5).
const BAD_HEAD_BYTE = /[^\t\r\n\x20-\x7e\x80-\xff]|\r(?!\n)|(?<!\r)\n/;
const HEX = /^[0-9a-fA-F]{1,12}$/;

/**
 * ResponseParser reads HTTP/1.x responses from an upstream connection, one after another,
 * fed the bytes as they arrive. It frames the body by RFC 9112 6.3 (no body for HEAD, 1xx,
 * 204 and 304; chunked; Content-Length; else until the connection closes), decodes chunked
 * bodies, and tells whether the connection may carry another request.
 */
export class ResponseParser {
  private state = State.Complete;
  private pending: Buffer | undefined;
  private left = 0;
  private noBody = false;
  private final: UpstreamHead | undefined;
  /** keepAlive tells, once the head is read, whether the connection may be reused after this response. */
  keepAlive = false;

  constructor(private readonly ev: ParserEvents) {}

  /** expect readies the parser for the response to a request with `method`. */
  expect(method: string): void {
    this.state = State.Head;
    this.pending = undefined;
    this.noBody = method === 'HEAD';
    this.final = undefined;
    this.keepAlive = false;
  }

  /** head is the final head once it is read. */
  get head(): UpstreamHead | undefined {
    return this.final;
  }

  /** upgraded tells whether the response was a 101: the bytes after it belong to the new protocol. */
  get upgraded(): boolean {
    return this.state === State.Upgraded;
  }

  /** untilClose tells whether the body runs until the upstream closes the connection. */
  get untilClose(): boolean {
    return this.state === State.UntilClose;
  }

  /**
   * feed parses bytes; it returns undefined while the response goes on, and once it is
   * complete (or upgraded) the bytes past its end. Throws BadResponse on a malformed response.
   */
  feed(data: Buffer): Buffer | undefined {
    let buf = data;
    for (;;) {
      switch (this.state) {
        case State.Head: {
          const rest = this.readHead(buf);
          if (rest === undefined) return undefined;
          buf = rest;
          continue;
        }
        case State.Length:
        case State.ChunkData: {
          if (buf.length === 0) return undefined;
          const n = Math.min(this.left, buf.length);
          this.left -= n;
          this.ev.body(n === buf.length ? buf : buf.subarray(0, n));
          buf = buf.subarray(n);
          if (this.left > 0) continue;
          if (this.state === State.Length) this.state = State.Complete;
          else {
            this.state = State.ChunkDataEnd;
            this.left = 2;
          }
          continue;
        }
        case State.ChunkSize: {
          const rest = this.readChunkSize(buf);
          if (rest === undefined) return undefined;
          buf = rest;
          continue;
        }
        case State.ChunkDataEnd: {
          // the CRLF after chunk data, possibly split across reads
          let i = 0;
          while (i < buf.length && this.left > 0) {
            if (buf[i] !== (this.left === 2 ? 0x0d : 0x0a)) throw new BadResponse('malformed chunked body: no CRLF after chunk data');
            this.left--;
            i++;
          }
          buf = buf.subarray(i);
          if (this.left > 0) return undefined;
          this.state = State.ChunkSize;
          continue;
        }
        case State.Trailers: {
          const rest = this.readTrailers(buf);
          if (rest === undefined) return undefined;
          buf = rest;
          continue;
        }
        case State.UntilClose:
          if (buf.length) this.ev.body(buf);
          return undefined;
        case State.Complete:
        case State.Upgraded:
          return buf;
      }
    }
  }

  /** end is the upstream closing the connection: it completes a body that runs until close, and returns whether the response was whole. */
  end(): boolean {
    if (this.state === State.UntilClose) this.state = State.Complete;
    return this.state === State.Complete || this.state === State.Upgraded;
  }

  /** take joins bytes kept from earlier reads with this read's. */
  private take(buf: Buffer): Buffer {
    const all = this.pending ? Buffer.concat([this.pending, buf]) : buf;
    this.pending = undefined;
    return all;
  }

  private readHead(data: Buffer): Buffer | undefined {
    const from = this.pending ? Math.max(0, this.pending.length - 3) : 0;
    const buf = this.take(data);
    const end = buf.indexOf('\r\n\r\n', from, 'latin1');
    // a head ended by bare LFs would never see its CRLF CRLF: refuse it now, not at read_timeout
    if (end < 0 && buf.indexOf('\n\n', from, 'latin1') >= 0) throw new BadResponse('response head holds a control character, a bare CR or a bare LF');
    if (end < 0) {
      if (buf.length > MAX_HEAD) throw new BadResponse(`response head larger than ${MAX_HEAD} bytes`);
      if (buf.length) this.pending = buf;
      return undefined;
    }
    if (end > MAX_HEAD) throw new BadResponse(`response head larger than ${MAX_HEAD} bytes`);
    this.onHead(buf.toString('latin1', 0, end));
    return buf.subarray(end + 4);
  }

  private onHead(text: string): void {
    if (BAD_HEAD_BYTE.test(text)) throw new BadResponse('response head holds a control character, a bare CR or a bare LF');
    const lines = text.split('\r\n');
    const m = STATUS_LINE.exec(lines[0]);
    if (!m) throw new BadResponse(`malformed status line ${JSON.stringify(lines[0].slice(0, 80))}`);
    const status = Number(m[2]);
    const raw: string[] = [];
    let length: string | undefined;
    let chunked = false;
    let te = false;
    let close = m[1] === '0';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (!TOKEN.test(name)) throw new BadResponse(`malformed header line ${JSON.stringify(line.slice(0, 80))}`);
      const value = line.slice(colon + 1).trim();
      raw.push(name, value);
      switch (name.length) {
        case 10:
          if (name.toLowerCase() === 'connection') {
            const tokens = value.toLowerCase();
            if (/(?:^|,)\s*close\s*(?:,|$)/.test(tokens)) close = true;
            else if (m[1] === '0' && /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(tokens)) close = false;
          }
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') {
            // repeated lengths must agree (RFC 9110 8.6); a list of one value repeated counts as that value
            for (const v of value.split(',')) {
              const t = v.trim();
              if (!/^\d{1,15}$/.test(t) || (length !== undefined && length !== t)) throw new BadResponse(`invalid Content-Length ${JSON.stringify(value)}`);
              length = t;
            }
          }
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            te = true;
            chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
          }
          break;
      }
    }
    const head: UpstreamHead = { statusCode: status, statusMessage: m[3] ?? '', rawHeaders: raw };
    if (status === 101) {
      this.final = head;
      this.state = State.Upgraded;
      this.ev.head(head);
      return;
    }
    if (status < 200) {
      // an interim answer: the real head follows
      if (status !== 100) this.ev.interim?.(head);
      return;
    }
    this.final = head;
    // a response framed by both is a smuggling risk: read it as chunked, then drop the connection
    this.keepAlive = !close && !(te && length !== undefined);
    this.ev.head(head);
    if (this.noBody || status === 204 || status === 304) this.state = State.Complete;
    else if (te) {
      this.state = chunked ? State.ChunkSize : State.UntilClose;
      if (!chunked) this.keepAlive = false;
    } else if (length !== undefined) {
      this.left = Number(length);
      this.state = this.left ? State.Length : State.Complete;
    } else {
      this.state = State.UntilClose;
      this.keepAlive = false;
    }
  }

  private readChunkSize(data: Buffer): Buffer | undefined {
    const buf = this.take(data);
    const eol = buf.indexOf(CRLF_TEXT, 0, 'latin1');
    if (eol < 0) {
      if (buf.length > MAX_CHUNK_LINE) throw new BadResponse('malformed chunked body: chunk size line too long');
      if (buf.length) this.pending = buf;
      return undefined;
    }
    const line = buf.toString('latin1', 0, eol);
    const semi = line.indexOf(';');
    const size = (semi < 0 ? line : line.slice(0, semi)).trim();
    if (!HEX.test(size)) throw new BadResponse(`malformed chunked body: chunk size ${JSON.stringify(line.slice(0, 40))}`);
    this.left = parseInt(size, 16);
    this.state = this.left ? State.ChunkData : State.Trailers;
    return buf.subarray(eol + 2);
  }

  private readTrailers(data: Buffer): Buffer | undefined {
    const buf = this.take(data);
    if (buf.length >= 2 && buf.readUInt16LE(0) === CRLF) {
      this.state = State.Complete;
      return buf.subarray(2);
    }
    const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
    if (end < 0) {
      if (buf.length > MAX_HEAD) throw new BadResponse(`trailer section larger than ${MAX_HEAD} bytes`);
      if (buf.length) this.pending = buf;
      return undefined;
    }
    const text = buf.toString('latin1', 0, end);
    if (BAD_HEAD_BYTE.test(text)) throw new BadResponse('trailer section holds a control character, a bare CR or a bare LF');
    const raw: string[] = [];
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (!TOKEN.test(name)) throw new BadResponse(`malformed trailer line ${JSON.stringify(line.slice(0, 80))}`);
      raw.push(name, line.slice(colon + 1).trim());
    }
    this.state = State.Complete;
    this.ev.trailers(raw);
    return buf.subarray(end + 4);
  }
}
