import { performance } from 'node:perf_hooks'; // imported: the global is a getter, looked up on each use

/** Timed is an item of a TimedList: the list's links live in the item, so adding and removing allocate nothing. */
export interface Timed {
  /** due is when the item expires (performance.now() ms). */
  due: number;
  prevTimed: Timed | undefined;
  nextTimed: Timed | undefined;
  /** timedIn is the list the item is in, if any. */
  timedIn: TimedList | undefined;
}

/**
 * TimedList holds items that expire after the same delay, in the order they came, so the
 * first is always the next to expire: one timer serves them all (a request per item would
 * cost a timer each). `expire(item)` is called for each expired item, already removed; it
 * may add the item again (a new delay).
 */
export class TimedList {
  private first: Timed | undefined;
  private last: Timed | undefined;
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly expire: (item: Timed) => void) {}

  /** empty tells whether the list holds no item. */
  get empty(): boolean {
    return this.first === undefined;
  }

  /** head is the first item (the next to expire). */
  get head(): Timed | undefined {
    return this.first;
  }

  /** count walks the list to count its items (for reports, not for each request). */
  count(): number {
    let n = 0;
    for (let t = this.first; t; t = t.nextTimed) n++;
    return n;
  }

  /** add appends `item`, due in `ms` from `now` (a caller that read the clock this turn passes it); the delay must be the list's own, or no shorter than any before. */
  add(item: Timed, ms: number, now = performance.now()): void {
    if (item.timedIn) item.timedIn.remove(item);
    item.due = now + ms;
    item.timedIn = this;
    item.prevTimed = this.last;
    item.nextTimed = undefined;
    if (this.last) this.last.nextTimed = item;
    else this.first = item;
    this.last = item;
    if (this.first === item) this.arm();
  }

  /** unshift puts `item` first, due at `due`, which must be no later than the first item's (one that was in the list before them all). */
  unshift(item: Timed, due: number): void {
    if (item.timedIn) item.timedIn.remove(item);
    item.due = due;
    item.timedIn = this;
    item.prevTimed = undefined;
    item.nextTimed = this.first;
    if (this.first) this.first.prevTimed = item;
    else this.last = item;
    this.first = item;
    this.arm();
  }

  /** remove takes `item` out, if it is in. */
  remove(item: Timed): void {
    if (item.timedIn !== this) return;
    if (item.prevTimed) item.prevTimed.nextTimed = item.nextTimed;
    else this.first = item.nextTimed;
    if (item.nextTimed) item.nextTimed.prevTimed = item.prevTimed;
    else this.last = item.prevTimed;
    item.prevTimed = item.nextTimed = item.timedIn = undefined;
  }

  /** close stops the timer (the items stay). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(): void {
    const head = this.first;
    if (!head || this.armedFor <= head.due) return;
    clearTimeout(this.timer);
    this.armedFor = head.due;
    this.timer = setTimeout(fire, Math.max(1, Math.ceil(head.due - performance.now())), this);
    this.timer.unref();
  }

  /** run expires the items that are due and re-arms the timer for the next. */
  run(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = performance.now();
    for (let item = this.first; item && item.due <= now; item = this.first) {
      this.remove(item);
      this.expire(item);
    }
    this.arm();
  }
}

function fire(list: TimedList): void {
  list.run();
}
