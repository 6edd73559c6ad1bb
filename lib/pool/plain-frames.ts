// The plain framing, without stream ids, of one exchange per connection (the CGI spawn helper's):
// each frame is 1 byte of type, a 4-byte big-endian payload length, then the payload. What the
// types mean is up to the plugin that speaks it; the codec only knows which type carries bulk
// data, passed on piece by piece. The Python pools' links have a framing of their own (frames.ts).

import { MAX_CONTROL } from './frames.js';

/** frame makes a whole frame. */
export function frame(kind: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = kind;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** textFrame makes a frame whose payload is `text` in `encoding`, written straight into the frame. */
export function textFrame(kind: number, text: string, encoding: BufferEncoding = 'utf8'): Buffer {
  const len = Buffer.byteLength(text, encoding);
  const out = Buffer.allocUnsafe(5 + len);
  out[0] = kind;
  out.writeUInt32BE(len, 1);
  out.write(text, 5, encoding);
  return out;
}

/** FrameSink receives decoded frames: streamed frames in pieces as they arrive, others whole. */
export interface FrameSink {
  /** data gets a piece of a streamed frame's payload (the kind given to the reader). */
  data(piece: Buffer): void;
  /** control gets any other frame, whole. */
  control(kind: number, payload: Buffer): void;
}

/**
 * FrameReader decodes a byte stream into frames. Frames of the `streamed` kind (response
 * data) are passed on piece by piece, never gathered, so a large body streams through in
 * constant memory; others are limited to MAX_CONTROL bytes.
 */
export class FrameReader {
  private head = Buffer.alloc(5);
  private headLen = 0;
  private kind = 0;
  private left = -1; // payload bytes still to come; -1 while reading a header
  private parts: Buffer[] = [];

  constructor(
    private readonly sink: FrameSink,
    private readonly streamed: number,
  ) {}

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
        if (this.kind !== this.streamed && this.left > MAX_CONTROL) throw new Error(`frame ${String.fromCharCode(this.kind)} too large (${this.left} bytes)`);
        if (this.left === 0) this.emit();
        continue;
      }
      const n = Math.min(this.left, chunk.length - at);
      const piece = chunk.subarray(at, at + n);
      at += n;
      this.left -= n;
      if (this.kind === this.streamed) this.sink.data(piece);
      else this.parts.push(piece);
      if (this.left === 0) this.emit();
    }
  }

  private emit(): void {
    this.left = -1;
    if (this.kind === this.streamed) return;
    const payload = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    this.parts = [];
    this.sink.control(this.kind, payload);
  }
}
