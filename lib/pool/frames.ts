// The framing of a link, the connection between a gatekit Node worker and one Python worker of
// a pool (see lib/python/gatekit_pool.py): each frame is 1 byte of kind, a 4-byte stream id,
// a 4-byte payload length (big-endian), then the payload. Many requests (streams) share a
// link. Stream 0 is the link itself; what the other kinds mean is up to the exchange that
// speaks them (exchange.ts for HTTP, plugins for more), except the few below, which every
// stream understands.

import type { Socket } from 'node:net';

/** FRAME_HEAD is the size of a frame's header: kind, stream id, payload length. */
export const FRAME_HEAD = 9;

/** MAX_CONTROL is the largest frame accepted whole from a Python worker (streamed data excepted). */
export const MAX_CONTROL = 16 << 20;

/** LINK_FRAME names the kinds every link and stream speaks, by the byte that marks them. */
export const LINK_FRAME = {
  /**
   * hello: Python → gatekit on stream 0, first: the worker's pid, capacity, running and flags (4
   * bytes each): it takes up to `capacity` streams of the link at once and runs up to `running`
   * of them (0: no limit), the others wait their turn in the worker (prefetched); flag 2: the
   * name of the link's ack file follows (see AckFile).
   */
  hello: 0x68, // h
  /** goaway: Python → gatekit on stream 0: the worker stops; send it nothing new, finish what is in flight, close the link. */
  goaway: 0x67, // g
  /** ping: gatekit → Python on stream 0, after a request timed out on a silent link: the link takes nothing new until a frame comes. */
  ping: 0x69, // i
  /** pong: Python → gatekit on stream 0, the answer to ping. */
  pong: 0x6f, // o
  /** pause: either way, on a stream: stop sending this stream's bytes (its reader is behind); the link is still read. */
  pause: 0x70, // p
  /** resume: either way, on a stream: send this stream's bytes again. */
  resume: 0x72, // r
  /** abort: gatekit → Python, on a stream: the client left (ASGI: http.disconnect, websocket.disconnect). */
  abort: 0x61, // a
  /** recall: gatekit → Python, on a prefetched stream: give it back if it has not started. */
  recall: 0x63, // c
  /** back: Python → gatekit, on a stream: it did not start and will not here (send it elsewhere); ends the stream on this link. */
  back: 0x62, // b
} as const;

/** LinkFrameSink receives the frames of a link: those of the streamed kind in pieces as they arrive, others whole. */
export interface LinkFrameSink {
  /** frame gets a whole frame (the payload may be a view of the bytes read: keep a copy to hold it). */
  frame(kind: number, id: number, payload: Buffer): void;
  /** data gets a piece of a frame of the streamed kind (response data). */
  data(id: number, piece: Buffer): void;
}

/**
 * FrameDecoder decodes the byte stream of a link into frames. Frames of the `streamed` kind
 * are passed on piece by piece, never gathered, so a large body streams through in constant
 * memory; others are limited to MAX_CONTROL bytes and passed whole, as views of the chunk
 * read when they lie in it (the common case: no copy).
 */
export class FrameDecoder {
  private readonly head = Buffer.alloc(FRAME_HEAD);
  private headLen = 0;
  private kind = 0;
  private id = 0;
  private left = -1; // payload bytes still to come; -1 while reading a header
  private parts: Buffer[] = [];

  constructor(
    private readonly sink: LinkFrameSink,
    private readonly streamed: number,
  ) {}

  /** push feeds bytes; it throws on a frame it does not accept. */
  push(chunk: Buffer): void {
    const n = chunk.length;
    let at = 0;
    while (at < n) {
      if (this.left < 0) {
        if (this.headLen === 0 && n - at >= FRAME_HEAD) {
          const kind = chunk[at],
            id = chunk.readUInt32BE(at + 1),
            len = chunk.readUInt32BE(at + 5);
          at += FRAME_HEAD;
          if (kind !== this.streamed && len <= n - at) {
            // the whole frame is in the chunk
            this.check(kind, len);
            this.sink.frame(kind, id, chunk.subarray(at, at + len));
            at += len;
            continue;
          }
          this.begin(kind, id, len);
        } else {
          const k = Math.min(FRAME_HEAD - this.headLen, n - at);
          chunk.copy(this.head, this.headLen, at, at + k);
          this.headLen += k;
          at += k;
          if (this.headLen < FRAME_HEAD) return;
          this.headLen = 0;
          this.begin(this.head[0], this.head.readUInt32BE(1), this.head.readUInt32BE(5));
        }
        if (this.left === 0) this.emit();
        continue;
      }
      const k = Math.min(this.left, n - at);
      const piece = chunk.subarray(at, at + k);
      at += k;
      this.left -= k;
      if (this.kind === this.streamed) this.sink.data(this.id, piece);
      else this.parts.push(piece);
      if (this.left === 0) this.emit();
    }
  }

  private check(kind: number, len: number): void {
    if (len > MAX_CONTROL) throw new Error(`frame ${String.fromCharCode(kind)} too large (${len} bytes)`);
  }

  private begin(kind: number, id: number, len: number): void {
    if (kind !== this.streamed) this.check(kind, len);
    this.kind = kind;
    this.id = id;
    this.left = len;
  }

  private emit(): void {
    this.left = -1;
    if (this.kind === this.streamed) return;
    const parts = this.parts;
    this.parts = [];
    this.sink.frame(this.kind, this.id, parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }
}

/** SLAB is the size of the buffers a FrameWriter encodes small frames into. */
const SLAB = 64 * 1024;
/** COPY_MAX: a payload up to this size is copied next to its header; a bigger one is written as it is. */
const COPY_MAX = 4096;

/**
 * FrameWriter queues the frames of a link and writes all those queued within one turn of the
 * event loop in one write (one syscall for many requests' frames). Small frames are encoded
 * straight into a slab: a region of it, once handed to the socket, is never written again,
 * so no frame needs a buffer of its own.
 */
export class FrameWriter {
  private slab = Buffer.allocUnsafeSlow(SLAB);
  private start = 0; // the first byte of the slab not handed to the socket yet
  private pos = 0;
  private parts: Buffer[] = [];
  private queued = false;

  constructor(private readonly sock: Socket) {}

  /** needDrain is true while the socket holds more than its high-water mark (senders of bulk data wait for 'drain'). */
  get needDrain(): boolean {
    return this.sock.writableNeedDrain;
  }

  /** frame queues a frame, its payload copied when small, else written as it is (do not change it afterwards). */
  frame(kind: number, id: number, payload?: Buffer): void {
    const n = payload === undefined ? 0 : payload.length;
    if (n > COPY_MAX) {
      this.header(this.room(FRAME_HEAD), kind, id, n);
      this.cut();
      this.parts.push(payload!);
    } else {
      const at = this.room(FRAME_HEAD + n);
      this.header(at, kind, id, n);
      if (n) payload!.copy(this.slab, at + FRAME_HEAD);
    }
    this.kick();
  }

  /** text queues a frame whose payload is `lead` then `text`, in latin-1 (one byte per character), written straight in. */
  text(kind: number, id: number, text: string, lead = ''): void {
    const n = lead.length + text.length;
    let buf: Buffer;
    let at = 0;
    if (FRAME_HEAD + n > SLAB) {
      buf = Buffer.allocUnsafe(FRAME_HEAD + n);
      this.cut();
      this.parts.push(buf);
    } else {
      at = this.room(FRAME_HEAD + n); // may start a new slab
      buf = this.slab;
    }
    buf[at] = kind;
    buf.writeUInt32BE(id, at + 1);
    buf.writeUInt32BE(n, at + 5);
    for (let i = 0; i < lead.length; i++) buf[at + FRAME_HEAD + i] = lead.charCodeAt(i); // a flag or two: no call into Buffer's write for them
    buf.write(text, at + FRAME_HEAD + lead.length, 'latin1');
    this.kick();
  }

  /** flush writes what is queued now; it returns what the socket's write() returned (false: wait for 'drain'). */
  flush(): boolean {
    this.queued = false;
    this.cut();
    const parts = this.parts;
    if (!parts.length || this.sock.destroyed) {
      this.parts = [];
      return true;
    }
    this.parts = [];
    if (parts.length === 1) return this.sock.write(parts[0]);
    this.sock.cork();
    let ok = true;
    for (const p of parts) ok = this.sock.write(p);
    this.sock.uncork();
    return ok;
  }

  private header(at: number, kind: number, id: number, n: number): void {
    const b = this.slab;
    b[at] = kind;
    b.writeUInt32BE(id, at + 1);
    b.writeUInt32BE(n, at + 5);
  }

  private room(n: number): number {
    if (this.pos + n > SLAB) {
      this.cut();
      this.slab = Buffer.allocUnsafeSlow(SLAB);
      this.start = this.pos = 0;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private cut(): void {
    if (this.pos > this.start) {
      this.parts.push(this.slab.subarray(this.start, this.pos));
      this.start = this.pos;
    }
  }

  private kick(): void {
    if (this.queued) return;
    this.queued = true;
    setImmediate(flushWriter, this);
  }
}

function flushWriter(w: FrameWriter): void {
  w.flush();
}
