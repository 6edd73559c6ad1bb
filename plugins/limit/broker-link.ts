import { lstatSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../../core/index.js';
import type { Counters, LocalCounters, Release } from './counters.js';
import { batchedSender, COUNT_HERE, onLines, wireKey, type Answer, type Message } from './wire.js';

/** CONNECT_WAIT bounds the connection to the master at provision. */
const CONNECT_WAIT = 2000;
/** ANSWER_WAIT: questions the master leaves unanswered this long are answered here instead. */
const ANSWER_WAIT = 1000;

interface Waiting {
  readonly resolve: (answer: number | undefined) => void;
  readonly enter: boolean;
}

/**
 * BrokerLink is a worker's connection to the master's counters (CountersBroker). A question
 * gets `undefined` for an answer when the master cannot answer (no connection, connection
 * lost, or too slow): callers then count in this worker, which is what a worker did alone.
 */
export class BrokerLink {
  private socket: Socket | undefined;
  private send: (value: Message | Answer) => void = () => {};
  private opening: Promise<boolean> | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private progress = 0;
  private watch: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  /** open connects once (later calls share the attempt); false when the master cannot be reached. */
  open(): Promise<boolean> {
    return (this.opening ??= new Promise<boolean>((resolve) => {
      const foreign = foreignFolder(dirname(this.path));
      if (foreign) {
        this.log.error("limit: the folder of the master's counters is not the master's; this worker counts alone", {
          folder: dirname(this.path),
          why: foreign,
        });
        resolve(false);
        return;
      }
      const s = connect(this.path);
      const timer = setTimeout(() => s.destroy(new Error(`no connection within ${CONNECT_WAIT}ms`)), CONNECT_WAIT);
      s.once('connect', () => {
        clearTimeout(timer);
        this.socket = s;
        this.send = batchedSender(s, setImmediate);
        this.watch = setInterval(() => this.checkProgress(), ANSWER_WAIT / 4).unref();
        resolve(true);
      });
      s.on('error', (e) => {
        clearTimeout(timer);
        if (this.socket) return; // 'close' follows
        this.log.error("limit: cannot reach the master's counters; this worker counts alone", { socket: this.path, error: e.message });
        resolve(false);
      });
      s.on('close', () => this.lost());
      onLines(s, (a) => this.answered(a));
    }));
  }

  /** ask sends a question; undefined when there is no connection to send it on. */
  ask(question: (id: number) => Message, enter = false): { id: number; answer: Promise<number | undefined> } | undefined {
    const s = this.socket;
    if (!s) return undefined;
    const id = this.nextId++;
    if (this.waiting.size === 0) this.progress = performance.now();
    const answer = new Promise<number | undefined>((resolve) => this.waiting.set(id, { resolve, enter }));
    this.send(question(id));
    return { id, answer };
  }

  /** releaser ends the master's count of entry `id` (counted by an 'e' question). */
  releaser(id: number): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (this.socket) this.send(['l', id]);
    };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watch);
    this.socket?.destroy();
    this.giveUp();
  }

  private answered(a: unknown): void {
    if (!Array.isArray(a) || typeof a[0] !== 'number' || typeof a[1] !== 'number') return;
    const w = this.waiting.get(a[0]);
    if (!w) return; // answered here already, after ANSWER_WAIT
    this.waiting.delete(a[0]);
    this.progress = performance.now();
    w.resolve(a[1]);
  }

  private checkProgress(): void {
    if (this.waiting.size === 0 || performance.now() - this.progress < ANSWER_WAIT) return;
    this.log.warn("limit: the master's counters did not answer in time; counting those requests in this worker", { waiting: this.waiting.size });
    this.giveUp();
  }

  /** giveUp answers every waiting question with undefined; entries the master may still count are released. */
  private giveUp(): void {
    for (const [id, w] of this.waiting) {
      if (w.enter && this.socket) this.send(['l', id]);
      w.resolve(undefined);
    }
    this.waiting.clear();
  }

  private lost(): void {
    if (!this.socket) return;
    this.socket = undefined;
    clearInterval(this.watch);
    if (!this.closed) this.log.warn("limit: lost the master's counters; this worker counts alone from now on", { socket: this.path });
    this.giveUp();
  }
}

/** SharedCounters ask the master; when it cannot answer, they count in this worker. */
export class SharedCounters implements Counters {
  constructor(
    private readonly link: BrokerLink,
    private readonly block: string,
    private readonly local: LocalCounters,
  ) {}

  take(rate: number, key: string): number | Promise<number> {
    const q = this.link.ask((id) => ['t', id, this.block, rate, wireKey(key)]);
    if (!q) return this.local.take(rate, key);
    return q.answer.then((wait) => (wait === undefined || wait === COUNT_HERE ? this.local.take(rate, key) : wait));
  }

  enter(key: string): Release | undefined | Promise<Release | undefined> {
    const q = this.link.ask((id) => ['e', id, this.block, wireKey(key)], true);
    if (!q) return this.local.enter(key);
    return q.answer.then((ok) => (ok === undefined || ok === COUNT_HERE ? this.local.enter(key) : ok === 1 ? this.link.releaser(q.id) : undefined));
  }
}

/** foreignFolder says why a counters folder must not be trusted (made by another user, or open to others), if it must not. */
function foreignFolder(dir: string): string | undefined {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return undefined;
  } // connect() reports a missing folder
  if (!st.isDirectory()) return 'not a folder';
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return `owned by uid ${st.uid}`;
  if ((st.mode & 0o077) !== 0) return `mode ${(st.mode & 0o777).toString(8)}`;
  return undefined;
}
