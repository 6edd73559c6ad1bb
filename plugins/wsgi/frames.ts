// The framing between gatekit and its Python workers (see python/gatekit_wsgi.py): each frame
// is 1 byte of type, a 4-byte big-endian payload length, then the payload.

/** FRAME names the frame types, by the byte that marks them. */
export const FRAME = {
  /** head: gatekit → Python, the environ as NUL-separated latin-1 keys and values. */
  head: 0x48, // H
  /** body: gatekit → Python, a chunk of the request body. */
  body: 0x42, // B
  /** end: gatekit → Python, the request body is complete. */
  end: 0x45, // E
  /** pid: Python → gatekit, the pid of the process that accepted (4 bytes). */
  pid: 0x50, // P
  /** status: Python → gatekit, "200 OK" then header names and values, NUL-separated. */
  status: 0x53, // S
  /** data: Python → gatekit, a chunk of the response body. */
  data: 0x44, // D
  /** finish: Python → gatekit, the response is complete. */
  finish: 0x46, // F
  /** error: Python → gatekit, the application raised; the payload is the traceback. */
  error: 0x58, // X
  /** log: Python → gatekit, lines the application wrote to wsgi.errors. */
  log: 0x4c, // L
} as const;

/** MAX_CONTROL is the largest non-data frame accepted from Python (status, errors, logs). */
const MAX_CONTROL = 16 << 20;

/** frameHeader makes the 5 bytes that start a frame. */
export function frameHeader(kind: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h[0] = kind;
  h.writeUInt32BE(length, 1);
  return h;
}

/** frame makes a whole frame. */
export function frame(kind: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = kind;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** FrameSink receives decoded frames: data frames in pieces as they arrive, others whole. */
export interface FrameSink {
  data(piece: Buffer): void;
  control(kind: number, payload: Buffer): void;
}

/**
 * FrameReader decodes a byte stream into frames. Response data is passed on piece by piece,
 * never gathered, so a large body (or a sendfile'd file) streams through in constant memory.
 */
export class FrameReader {
  private head = Buffer.alloc(5);
  private headLen = 0;
  private kind = 0;
  private left = -1; // payload bytes still to come; -1 while reading a header
  private parts: Buffer[] = [];

  constructor(private readonly sink: FrameSink) {}

  /** push feeds bytes; it throws on a frame it does not accept. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.left < 0) {
        const n = Math.min(5 - this.headLen, chunk.length - at);
        chunk.copy(this.head, this.headLen, at, at + n);
        this.headLen += n;
        at += n;
        if (this.headLen < 5) return;
        this.headLen = 0;
        this.kind = this.head[0];
        this.left = this.head.readUInt32BE(1);
        if (this.kind !== FRAME.data && this.left > MAX_CONTROL) throw new Error(`frame ${String.fromCharCode(this.kind)} too large (${this.left} bytes)`);
        if (this.left === 0) this.emit();
        continue;
      }
      const n = Math.min(this.left, chunk.length - at);
      const piece = chunk.subarray(at, at + n);
      at += n;
      this.left -= n;
      if (this.kind === FRAME.data) this.sink.data(piece);
      else this.parts.push(piece);
      if (this.left === 0) this.emit();
    }
  }

  private emit(): void {
    this.left = -1;
    if (this.kind === FRAME.data) return;
    const payload = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    this.parts = [];
    this.sink.control(this.kind, payload);
  }
}
