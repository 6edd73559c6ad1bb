import { performance } from 'node:perf_hooks'; // imported: the global is a getter, looked up on each use
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { AckFile } from './ack-file.js';
import { FrameDecoder, FrameWriter, LINK_FRAME, type LinkFrameSink } from './frames.js';
import type { PoolStream } from './stream.js';

/** endsStream tells whether a frame of `kind` ends its stream, the same for every exchange: F (finish), W (whole response), X (error). */
function endsStream(kind: number): boolean {
  return kind === 0x46 || kind === 0x57 || kind === 0x58;
}
/** DATA is the kind of streamed response data (D): passed on in pieces. */
const DATA = 0x44;
/** HELLO_ACK_FILE is HELLO's flag for a worker that acknowledges the heads it read in an ack file, whose name follows (AckFile). */
const HELLO_ACK_FILE = 2;

/** LinkOwner is told what happens to its links (PoolLinks). */
export interface LinkOwner {
  /** ready: the link's HELLO came: it takes streams. */
  ready(link: Link): void;
  /** freed: a stream of the link ended, so it has room for another. */
  freed(link: Link): void;
  /** closed: the link is gone (its streams were told). */
  closed(link: Link): void;
  /** heard: a prefetched stream got its first frame (it started). */
  heard(s: PoolStream): void;
  /** back: the worker gave a stream back unstarted (BACK), or died before it read it. */
  back(link: Link, s: PoolStream): void;
}

/**
 * Link is one connection from this Node worker to one Python worker of a pool, carrying many
 * streams. It is always read, whatever the streams do; frames written within one turn of the
 * event loop go out in one write. A stream ends with its F, W or X frame, or when the link
 * closes. After GOAWAY (the Python worker stops) the link takes no new stream and closes
 * once its last stream ended.
 */
export class Link implements LinkFrameSink {
  /** pid of the Python worker (from HELLO). */
  pid = 0;
  /** capacity is the most streams the worker takes from this link at once (from HELLO; 0: no limit). */
  capacity = 0;
  /** running is the most streams it runs at once; those beyond wait their turn there (from HELLO; 0: no limit). */
  running = 0;
  /** ready is true from HELLO until GOAWAY or the close. */
  ready = false;
  /** acks is the link's ack file, where the worker acknowledges the heads it read (HELLO flag 2). */
  private acks: AckFile | undefined;
  /** stalled: a request timed out on this link while it said nothing; it takes nothing new until a frame comes (see stall()). */
  stalled = false;
  /** progressAt is when a stream of the link last started (its first frame came) or ended (performance.now()). */
  progressAt = 0;
  goingAway = false;
  closed = false;
  readonly streams = new Map<number, PoolStream>();
  readonly out: FrameWriter;
  private readonly sock: Socket;
  private readonly decoder: FrameDecoder;
  private nextId = 1;
  private drainWaiters: PoolStream[] = [];

  constructor(
    readonly path: string,
    private readonly owner: LinkOwner,
  ) {
    const sock = connect(path);
    this.sock = sock;
    this.out = new FrameWriter(sock);
    this.decoder = new FrameDecoder(this, DATA);
    sock.on('data', (c: Buffer) => {
      try {
        this.decoder.push(c);
      } catch {
        sock.destroy();
      } // a worker that breaks the framing loses its link
    });
    sock.on('drain', () => {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const s of waiters) s.drained();
    });
    sock.on('error', () => {
      /* 'close' follows */
    });
    sock.on('close', () => this.onClose());
  }

  /** load is the number of streams in flight. */
  get load(): number {
    return this.streams.size;
  }

  /** hasRoom tells whether the link takes another stream now. */
  get hasRoom(): boolean {
    return this.ready && !this.stalled && (this.capacity === 0 || this.streams.size < this.capacity);
  }

  /** hasThread tells whether the link takes another stream now that would not wait its turn in the worker. */
  get hasThread(): boolean {
    return this.ready && !this.stalled && (this.running === 0 || this.streams.size < this.running);
  }

  /** open gives the stream an id on this link and lets it write its first frames; it is `prefetched` when the worker runs as many as it may already. */
  open(s: PoolStream, now: number): void {
    s.prefetched = s.mayWait && this.running !== 0 && this.streams.size >= this.running;
    s.openedAt = now;
    s.heard = false;
    s.recalling = false;
    const id = this.nextId;
    this.nextId = id === 0xffffffff ? 1 : id + 1;
    this.streams.set(id, s);
    s.link = this;
    s.id = id;
    s.opened(this, id);
  }

  /** abort tells the Python worker the client of stream `id` left; the stream ends with the worker's answer (or the link). */
  abort(id: number): void {
    if (this.streams.has(id)) this.out.frame(LINK_FRAME.abort, id);
  }

  /** recall asks the worker to give stream `id` back if it has not started (it answers BACK, or goes on). */
  recall(id: number): void {
    if (this.streams.has(id)) this.out.frame(LINK_FRAME.recall, id);
  }

  /**
   * stall takes the link out of the schedule until the worker says something (a PING asks it
   * to): a request timed out on it, and a worker whose event loop is blocked reads nothing.
   */
  stall(): void {
    if (this.stalled || this.closed) return;
    this.stalled = true;
    this.out.frame(LINK_FRAME.ping, 0);
  }

  /** waitDrain calls s.drained() once the socket has room again. */
  waitDrain(s: PoolStream): void {
    this.drainWaiters.push(s);
  }

  /** close ends the link gracefully (the worker reads end-of-file); its streams are lost. */
  close(): void {
    this.ready = false;
    this.out.flush();
    this.sock.end();
  }

  /** destroy cuts the link at once. */
  destroy(): void {
    this.sock.destroy();
  }

  frame(kind: number, id: number, payload: Buffer): void {
    if (this.stalled) this.unstall();
    if (id === 0) {
      this.control(kind, payload);
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) return; // a stream that ended here already (aborted, timed out): its last frames go nowhere
    if (kind === LINK_FRAME.back) {
      this.streams.delete(id);
      this.owner.back(this, s);
      return;
    }
    const ends = endsStream(kind);
    if (!s.heard) this.hear(s, !ends); // a whole answer: end() reads the clock for both
    s.frame(kind, payload);
    if (ends) this.end(id);
  }

  data(id: number, piece: Buffer): void {
    if (this.stalled) this.unstall();
    const s = this.streams.get(id);
    if (s === undefined) return;
    if (!s.heard) this.hear(s);
    s.data(piece);
  }

  private hear(s: PoolStream, clock = true): void {
    s.heard = true;
    if (clock) this.progressAt = performance.now();
    if (s.prefetched) this.owner.heard(s);
  }

  private end(id: number): void {
    this.progressAt = performance.now();
    this.streams.delete(id);
    if (this.goingAway && this.streams.size === 0) this.close();
    else this.owner.freed(this);
  }

  private unstall(): void {
    this.stalled = false;
    this.owner.freed(this);
  }

  private control(kind: number, payload: Buffer): void {
    if (kind === LINK_FRAME.hello && payload.length >= 16 && !this.pid) {
      this.pid = payload.readUInt32BE(0);
      this.capacity = payload.readUInt32BE(4);
      this.running = payload.readUInt32BE(8);
      if (payload.readUInt32BE(12) & HELLO_ACK_FILE) this.acks = AckFile.open(dirname(this.path), payload.toString('latin1', 16));
      if (this.goingAway) return;
      this.ready = true;
      this.owner.ready(this);
    } else if (kind === LINK_FRAME.goaway) {
      this.goAway();
    }
  }

  /** goAway takes no new stream and closes the link once the last one ended. */
  goAway(): void {
    this.goingAway = true;
    this.ready = false;
    if (this.streams.size === 0) this.close();
  }

  /** onClose tells the streams: those the worker never read (past its ack file's id) go to another worker, the others are lost. */
  private onClose(): void {
    this.closed = true;
    this.ready = false;
    const acked = this.acks?.read();
    this.acks?.close();
    const streams = [...this.streams];
    this.streams.clear();
    this.drainWaiters = [];
    for (const [id, s] of streams) {
      if (acked !== undefined && id > acked) this.owner.back(this, s);
      else s.lost();
    }
    this.owner.closed(this);
  }
}
