import { connect, type Socket } from 'node:net';
import { frame } from '../../core/h2c-upgrade.js';

export { frame };

/** PREFACE is what an HTTP/2 client sends first. */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** FRAME are the frame types a raw client sends or reads. */
export const FRAME = { data: 0x0, headers: 0x1, rst: 0x3, settings: 0x4, ping: 0x6, goaway: 0x7, continuation: 0x9 } as const;

/** literal is an HPACK field without indexing, new name, no Huffman coding (lengths under 127). */
export function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.of(0x00, name.length), Buffer.from(name), Buffer.of(value.length), Buffer.from(value)]);
}

/** getBlock is the header block of a GET for `path` on a cleartext connection. */
export function getBlock(path = '/'): Buffer {
  return Buffer.concat([literal(':method', 'GET'), literal(':scheme', 'http'), literal(':path', path), literal(':authority', 'localhost')]);
}

/** RawH2 is a cleartext HTTP/2 client that writes frames as it is told and records what comes back. */
export class RawH2 {
  private buf = Buffer.alloc(0);
  /** frames are the frames received so far: type, flags, stream and payload. */
  readonly frames: { type: number; flags: number; stream: number; payload: Buffer }[] = [];
  /** closed resolves when the server closes the connection. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.read(d));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** open connects to 127.0.0.1:port and sends the preface and an empty SETTINGS frame. */
  static open(port: number): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.off('error', reject);
        s.write(Buffer.concat([PREFACE, frame(FRAME.settings, 0, 0, Buffer.alloc(0))]));
        resolve(new RawH2(s));
      });
      s.once('error', reject);
    });
  }

  /** send writes frames; false once the connection is gone. */
  send(...frames: Buffer[]): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    return this.socket.write(Buffer.concat(frames));
  }

  /** goaway is the error code of the GOAWAY the server sent, if any. */
  goaway(): number | undefined {
    const f = this.frames.find((x) => x.type === FRAME.goaway);
    return f ? f.payload.readUInt32BE(4) : undefined;
  }

  /** until waits (bounded) for a received frame that `pred` accepts. */
  async until(pred: (f: RawH2['frames'][number]) => boolean, ms = 5000): Promise<RawH2['frames'][number]> {
    const end = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (Date.now() > end) throw new Error(`no such frame within ${ms}ms; got types ${this.frames.map((x) => x.type).join(',')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private read(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) return;
      this.frames.push({ type: this.buf[3], flags: this.buf[4], stream: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
      this.buf = this.buf.subarray(9 + len);
    }
  }
}
