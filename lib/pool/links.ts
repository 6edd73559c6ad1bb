import { performance } from 'node:perf_hooks'; // imported: the global is a getter, looked up on each use
import { join } from 'node:path';
import { HttpError, type PoolReport } from '../../core/index.js';
import { Link, type LinkOwner } from './link.js';
import type { PoolStream, RecallMark } from './stream.js';
import { TimedList } from './timed.js';
import { PoolWatch, type PoolWorker } from './watch.js';

/** POOL_QUEUE_WAIT is how long a request waits for a ready pool worker (pool starting or restarting) before 503. */
export const POOL_QUEUE_WAIT = 5_000;
/** RECALL_AFTER is how long a prefetched stream may wait unanswered in its worker before it is recalled (ms). */
export const RECALL_AFTER = 20;
const RECONNECT = 100;

/**
 * PoolLinks is one Node worker's side of a pool: it follows the keeper's list of ready Python
 * workers, keeps one Link to each (connecting as they appear, letting them go as they leave),
 * and schedules streams, first come first served: each goes to the link with the fewest
 * streams in flight that has room, or waits until a stream ends somewhere.
 *
 * A link has room for as many streams as its worker runs at once (its threads), plus a few
 * more that wait their turn there (prefetched), so that a busy worker reads its next requests
 * in one go; only a stream that has sent nothing but its head may be prefetched. A prefetched
 * stream still unanswered after RECALL_AFTER, on a link where no stream started or ended for
 * as long (it waits behind a slow request), is recalled: unless it has started, it comes back,
 * first in line, and goes to another link.
 *
 * A stream waits at most `wait` ms while the workers are busy, and POOL_QUEUE_WAIT while none
 * is ready; the pool failing to load the app, or not running at all, refuses it at once.
 * Each is a 503.
 */
export class PoolLinks implements LinkOwner {
  /** running holds the streams on a link whose exchange has a deadline (its timeout); one timer serves them all. */
  readonly running = new TimedList((s) => (s as PoolStream).expired());
  private readonly links = new Map<number, Link>();
  /** list holds the links too, in an array: pick() goes round it from a new place each time, so ties take turns. */
  private list: Link[] = [];
  private turn = 0;
  private readonly queue = new TimedList((s) => this.refuse(s as PoolStream, this.busyError()));
  private readonly watch: PoolWatch;
  /** recalls holds the prefetched streams not answered yet, each to be recalled RECALL_AFTER after it was sent. */
  private readonly recalls = new TimedList((m) => this.recall((m as RecallMark).stream));
  private noWorker: NodeJS.Timeout | undefined;
  private shut = false;

  /** kind and app name the pool in errors; `wait` bounds the wait for a busy pool (ms). */
  constructor(
    private readonly dir: string,
    private readonly kind: string,
    private readonly app: string,
    private readonly wait: number,
  ) {
    this.watch = new PoolWatch(join(dir, 'keeper.sock'));
    this.watch.onChange(() => this.update());
  }

  /** open starts following the pool. */
  open(): void {
    this.watch.open();
  }

  /** submit sends the stream over the least loaded link with room, or queues it behind those that wait. */
  submit(s: PoolStream): void {
    const now = performance.now();
    s.submittedAt = now;
    const link = this.queue.empty ? this.pick(s) : undefined;
    if (link) {
      this.send(link, s, now);
      return;
    }
    const down = this.downError();
    if (down) {
      s.refused(down);
      return;
    }
    this.queue.add(s, this.wait);
    this.armNoWorker();
  }

  /** cancel takes a stream out of the queue (its client left before it got a link). */
  cancel(s: PoolStream): void {
    this.queue.remove(s);
  }

  /** report shows the pool as this worker sees it (admin): its ready processes, requests running and waiting. */
  report(name: string, size: number): PoolReport {
    const st = this.watch.status;
    const state = st.failing ? 'failing' : 'ready';
    return { name, kind: this.kind, size, processes: st.ready.map((w) => ({ pid: w.pid, state })), busy: this.running.count(), queue: this.queue.count() };
  }

  /** close refuses what waits and closes every link; idempotent. */
  close(): void {
    this.shut = true;
    this.watch.close();
    clearTimeout(this.noWorker);
    this.recalls.close();
    this.refuseAll(new HttpError(503, `the ${this.kind} pool is closing`));
    this.queue.close();
    this.running.close();
    for (const link of this.links.values()) link.destroy();
    this.links.clear();
    this.list = [];
  }

  ready(): void {
    clearTimeout(this.noWorker);
    this.noWorker = undefined;
    this.dispatch();
  }

  freed(): void {
    this.dispatch();
  }

  heard(s: PoolStream): void {
    if (s.recallMark) this.recalls.remove(s.recallMark);
  }

  back(link: Link, s: PoolStream): void {
    if (s.recallMark) this.recalls.remove(s.recallMark);
    s.avoid = link;
    if (!s.back()) {
      s.lost();
      return;
    }
    this.queue.unshift(s, s.submittedAt + this.wait);
    this.dispatch();
  }

  closed(link: Link): void {
    for (const [pid, l] of this.links) if (l === link) this.links.delete(pid);
    this.list = [...this.links.values()];
    if (this.shut) return;
    if (!link.goingAway) setTimeout(() => this.update(), RECONNECT).unref(); // the worker may still be there: connect again if it is listed
    this.armNoWorker();
  }

  /**
   * pick is the link for `s` with the fewest streams in flight (links with as few take turns);
   * a stream that may not wait needs a free thread; one that came back goes to another link
   * than the one it came from, if another has room.
   */
  private pick(s: PoolStream): Link | undefined {
    const list = this.list;
    const n = list.length;
    const wait = s.mayWait;
    const avoid = s.avoid;
    let best: Link | undefined;
    const from = (this.turn = (this.turn + 1) % (n || 1));
    for (let k = 0; k < n; k++) {
      const link = list[(from + k) % n];
      if (link === avoid || !(wait ? link.hasRoom : link.hasThread)) continue;
      if (best === undefined || link.load < best.load) best = link;
    }
    if (best === undefined && avoid !== undefined && !avoid.closed && (wait ? avoid.hasRoom : avoid.hasThread)) best = avoid;
    return best;
  }

  private send(link: Link, s: PoolStream, now: number): void {
    link.open(s, now);
    if (s.prefetched) this.recalls.add((s.recallMark ??= { stream: s, due: 0, prevTimed: undefined, nextTimed: undefined, timedIn: undefined }), RECALL_AFTER);
  }

  /** dispatch sends what waits, in order, while links have room for it. */
  private dispatch(): void {
    if (this.queue.empty) return; // every stream's end comes here: no clock read when nothing waits
    const now = performance.now();
    for (let s = this.queue.head as PoolStream | undefined; s !== undefined; s = this.queue.head as PoolStream | undefined) {
      const link = this.pick(s);
      if (!link) return;
      this.queue.remove(s);
      this.send(link, s, now);
    }
  }

  /**
   * recall asks the worker to give back a prefetched stream still unanswered RECALL_AFTER after
   * it was sent, when no stream of its link started or ended meanwhile: it waits behind a slow
   * one. While the worker gets through its streams, the stream waits on (checked again later).
   */
  private recall(s: PoolStream): void {
    const link = s.link;
    if (!link || link.closed || s.heard || s.recalling || link.streams.get(s.id) !== s) return;
    if (performance.now() - link.progressAt < RECALL_AFTER) {
      this.recalls.add(s.recallMark!, RECALL_AFTER);
      return;
    }
    s.recalling = true;
    link.recall(s.id);
  }

  /** update follows the keeper's list: links to new workers, GOAWAY for those that left it. */
  private update(): void {
    if (this.shut) return;
    const st = this.watch.status;
    const listed = new Set<number>();
    for (const w of st.ready) {
      listed.add(w.pid);
      if (!this.links.has(w.pid)) this.connect(w);
    }
    for (const [pid, link] of this.links) if (!listed.has(pid) && st.connected) link.goAway();
    const down = this.downError();
    if (down) this.refuseAll(down);
  }

  private connect(w: PoolWorker): void {
    this.links.set(w.pid, new Link(join(this.dir, w.socket), this));
    this.list = [...this.links.values()];
  }

  /** downError is the 503 for a pool that has no ready link and fails to load its app, or does not run; undefined otherwise. */
  private downError(): HttpError | undefined {
    const st = this.watch.status;
    if (!(st.failing || st.missing) || this.anyReady()) return undefined;
    return this.noWorkerError();
  }

  private anyReady(): boolean {
    for (const link of this.list) if (link.ready) return true;
    return false;
  }

  private noWorkerError(): HttpError {
    const st = this.watch.status;
    const why = st.failing
      ? `${this.kind} application '${this.app}' fails to load`
      : st.missing
        ? `no ${this.kind} pool runs for '${this.app}' (its master part was not started)`
        : `no ${this.kind} worker is ready`;
    return new HttpError(503, why, { headers: { 'retry-after': '1' } });
  }

  private busyError(): HttpError {
    return new HttpError(503, `every ${this.kind} worker stayed busy for ${this.wait}ms`, { headers: { 'retry-after': '1' } });
  }

  /** armNoWorker refuses what waits once no link has been ready for POOL_QUEUE_WAIT. */
  private armNoWorker(): void {
    if (this.noWorker || this.queue.empty || this.anyReady()) return;
    this.noWorker = setTimeout(() => {
      this.noWorker = undefined;
      if (!this.anyReady()) this.refuseAll(this.noWorkerError());
    }, POOL_QUEUE_WAIT);
    this.noWorker.unref();
  }

  private refuseAll(e: HttpError): void {
    for (let s = this.queue.head; s !== undefined; s = this.queue.head) this.refuse(s as PoolStream, e);
  }

  private refuse(s: PoolStream, e: HttpError): void {
    this.queue.remove(s);
    s.refused(e);
  }
}
