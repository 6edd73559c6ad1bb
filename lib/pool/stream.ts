import type { HttpError } from '../../core/index.js';
import type { Link } from './link.js';
import type { Timed, TimedList } from './timed.js';

/** RecallMark is a prefetched stream's item in PoolLinks' list of streams to recall if unanswered. */
export interface RecallMark extends Timed {
  readonly stream: PoolStream;
}

/**
 * PoolStream is one exchange (a request, a WebSocket) a link carries as a stream: what the
 * exchange does with the frames, and the state the scheduler (PoolLinks) and the link keep
 * in it, so that scheduling allocates nothing per request.
 */
export abstract class PoolStream implements Timed {
  due = 0;
  prevTimed: Timed | undefined;
  nextTimed: Timed | undefined;
  timedIn: TimedList | undefined;
  /** submittedAt is when the stream was submitted (performance.now()). */
  submittedAt = 0;
  /** openedAt is when it got its link. */
  openedAt = 0;
  /** prefetched: it went to a link whose worker runs as many as it may already: it waits its turn there, and may be recalled. */
  prefetched = false;
  /** heard: a frame of it came from the worker (it started). */
  heard = false;
  /** recalling: a RECALL was sent for it. */
  recalling = false;
  /** link is the link the stream is on (set by Link.open, cleared when it comes back), and id its id there. */
  link: Link | undefined;
  id = 0;
  /** avoid is the link that gave the stream back (it is busy with a slow request): the stream goes elsewhere if it can. */
  avoid: Link | undefined;
  /** recallMark is its place in PoolLinks' list of prefetched streams waiting for an answer (made the first time it is prefetched). */
  recallMark: RecallMark | undefined;

  /** mayWait: the stream may wait for its turn in a worker (be prefetched), and so come back: nothing of it but its head is sent before it starts. */
  abstract get mayWait(): boolean;
  /** opened: the stream has a link and an id; it writes its first frames now (its head says whether it is `prefetched`). */
  abstract opened(link: Link, id: number): void;
  /** frame gets a whole frame of the stream (a view of the bytes read: copy what it keeps). */
  abstract frame(kind: number, payload: Buffer): void;
  /** data gets a piece of response data. */
  abstract data(piece: Buffer): void;
  /** lost: the link closed before the stream's end (the Python worker died, or was killed). */
  abstract lost(): void;
  /** drained: the link's socket has room again (see Link.waitDrain). */
  abstract drained(): void;
  /** refused: no link took the stream in time, or the pool is down; `e` says why. */
  abstract refused(e: HttpError): void;
  /** expired: the stream was in PoolLinks.running past its delay. */
  abstract expired(): void;
  /**
   * back: the worker gave the stream back unstarted, or died before it read it; it returns
   * true to be sent elsewhere, false when it cannot be (it has ended meanwhile, or part of its
   * body was sent: it is then lost()).
   */
  abstract back(): boolean;
}
