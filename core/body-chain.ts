import type { Duplex } from 'node:stream';
import type { BodyTransform, WriteCallback } from './pipeline.js';

/** Chunk is a piece of a body as handlers write it. */
export type Chunk = string | Uint8Array;

/** ChainOut is where a body chain's output goes: the pipeline, which counts it and hands it to the wire. */
export interface ChainOut {
  /** out writes a piece; false when the connection is full (then wireDrained() comes once it takes more). */
  out(chunk: Buffer): boolean;
  finish(chunk?: Buffer): void;
  /** drained tells the handler that the chain takes writes again. */
  drained(): void;
  fail(e: Error): void;
}

/** byteLength is the size in bytes of a chunk as write() takes it (0 for anything else: a callback, nothing). */
export function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

function toBuffer(chunk: Chunk | undefined, encoding: BufferEncoding | undefined): Buffer {
  if (chunk === undefined) return Buffer.alloc(0);
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * BodyChain carries one body through the transforms of the filters that took it, innermost
 * filter first, to the pipeline. A body given whole goes through each transform's whole()
 * while they have one; otherwise the streams are made and joined on the first piece, with
 * backpressure at every joint: the handler's write() returns false while the first stream is
 * full and 'drain' comes when it is not, and the last stream pauses while the connection is
 * full. The two never mix: the connection's own 'drain' only resumes the chain.
 */
export class BodyChain {
  private streams: Duplex[] | undefined;
  /** stalled is the last stream while it waits for the connection to take more. */
  private stalled: Duplex | undefined;
  private flushing = false;
  private dead = false;
  /** ending: the handler ended the body. */
  ending = false;
  /** finished: the chain handed the end of the body on. */
  finished = false;

  constructor(
    private readonly transforms: readonly BodyTransform[],
    private readonly to: ChainOut,
  ) {}

  write(chunk: Chunk, encoding: BufferEncoding | undefined, cb?: WriteCallback): boolean {
    const ok = this.open(0).write(chunk, encoding as BufferEncoding, cb);
    this.flushSoon();
    return ok;
  }

  end(chunk: Chunk | undefined, encoding: BufferEncoding | undefined): void {
    this.ending = true;
    if (!this.streams) {
      this.whole(toBuffer(chunk, encoding));
      return;
    }
    if (chunk == null) this.streams[0].end();
    else this.streams[0].end(chunk, encoding as BufferEncoding);
  }

  /** needDrain tells whether the handler should wait for 'drain' before it writes more. */
  get needDrain(): boolean {
    return this.streams?.[0].writableNeedDrain ?? false;
  }

  /** buffered is how many bytes the chain holds, taken from the handler and not yet handed on. */
  get buffered(): number {
    let n = 0;
    for (const s of this.streams ?? []) n += s.writableLength + s.readableLength;
    return n;
  }

  /** wireDrained goes on once the connection takes more. */
  wireDrained(): void {
    const s = this.stalled;
    this.stalled = undefined;
    s?.resume();
  }

  /** destroy stops the streams of a response that ended early. */
  destroy(): void {
    this.dead = true;
    for (const s of this.streams ?? []) s.destroy();
  }

  private whole(body: Buffer): void {
    let i = 0;
    for (; i < this.transforms.length; i++) {
      const out = this.transforms[i].whole?.(body);
      if (out === undefined) break;
      body = out;
    }
    if (i < this.transforms.length) {
      this.open(i).end(body);
      return;
    }
    this.finished = true;
    this.to.finish(body);
  }

  /** open makes the streams of the transforms from `from` on, joins them, and returns the first. */
  private open(from: number): Duplex {
    if (this.streams) return this.streams[0];
    const streams = (this.streams = this.transforms.slice(from).map((t) => t.stream()));
    for (let i = 0; i + 1 < streams.length; i++) streams[i].pipe(streams[i + 1]);
    const last = streams[streams.length - 1];
    last.on('data', (data: Buffer) => {
      if (!this.to.out(data)) {
        last.pause();
        this.stalled = last;
      }
    });
    last.once('end', () => {
      this.finished = true;
      this.to.finish();
    });
    for (const s of streams)
      s.on('error', (e: Error) => {
        if (!this.dead) this.to.fail(e);
      });
    streams[0].on('drain', () => this.to.drained());
    if (this.dead) this.destroy();
    return streams[0];
  }

  /** flushSoon asks the transforms to send on what they hold once the writer pauses (server-sent events stay live). */
  private flushSoon(): void {
    if (this.flushing || !this.transforms.some((t) => t.flush)) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      if (this.ending || this.dead) return;
      for (const t of this.transforms) t.flush?.();
    });
  }
}
