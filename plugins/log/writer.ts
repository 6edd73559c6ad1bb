import { close, open, write } from 'node:fs';
import type { Logger } from '../../core/index.js';

// A pipe (stdout/stderr read by a supervisor) keeps writes of at most PIPE_BUF bytes whole
// even with several writers; a file opened O_APPEND keeps any single write whole.
const PIPE_BATCH = 4096;
const FILE_BATCH = 256 * 1024;
/** MAX_PENDING bounds the memory held while the disk or the reader stalls; past it lines are dropped (and counted). */
const MAX_PENDING = 16 * 1024 * 1024;
const RETRY_MS = 20;

const openFd = (path: string): Promise<number> => new Promise((resolve, reject) => open(path, 'a', 0o644, (e, fd) => (e ? reject(e) : resolve(fd))));
const closeFd = (fd: number): Promise<void> => new Promise((resolve) => close(fd, () => resolve()));

/**
 * LineWriter appends whole lines to stdout, stderr or a file without ever blocking the event
 * loop: lines queue in memory and go out in batches through the thread pool, each batch one
 * write(2) of whole lines, so workers sharing a file or a pipe never interleave a line.
 * Every `log` directive of a process naming the same target shares one writer (as nginx opens
 * each log path once), so their lines keep the order in which requests finished.
 */
export class LineWriter {
  private static readonly shared = new Map<string, Promise<LineWriter>>();
  private users = 1;
  private reopening: Promise<void> | undefined;
  private queue: string[] = [];
  private queued = 0;
  private busy = false;
  private dropped = 0;
  private idle: (() => void)[] = [];
  private closed = false;

  private constructor(
    readonly target: string,
    private fd: number,
    private readonly log: Logger,
  ) {}

  /** open opens the target ('stdout', 'stderr' or an absolute file path, created if missing), or shares the writer already open on it. */
  static async open(target: string, log: Logger): Promise<LineWriter> {
    const open = LineWriter.shared.get(target);
    if (open) {
      const w = await open;
      w.users++;
      return w;
    }
    const opening = (async () => new LineWriter(target, target === 'stdout' ? 1 : target === 'stderr' ? 2 : await openFd(target), log))();
    LineWriter.shared.set(target, opening);
    opening.catch(() => LineWriter.shared.delete(target));
    return opening;
  }

  private get isFile(): boolean {
    return this.fd > 2;
  }

  /** line queues one line (without its newline); it is written within an event-loop turn. */
  line(text: string): void {
    if (this.closed) return;
    if (this.queued > MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.queue.push(`${text}\n`);
    this.queued += text.length + 1;
    if (!this.busy) {
      this.busy = true;
      setImmediate(() => this.flush());
    }
  }

  private batch(): Buffer {
    const max = this.isFile ? FILE_BATCH : PIPE_BATCH;
    let n = 0,
      size = 0;
    while (n < this.queue.length && (n === 0 || size + this.queue[n].length <= max)) size += this.queue[n++].length;
    const text = n === this.queue.length ? this.queue.join('') : this.queue.slice(0, n).join('');
    this.queue = n === this.queue.length ? [] : this.queue.slice(n);
    this.queued -= text.length;
    return Buffer.from(text);
  }

  private flush(): void {
    if (this.queue.length === 0) {
      this.done();
      return;
    }
    this.send(this.batch(), this.fd);
  }

  private send(buf: Buffer, fd: number): void {
    write(fd, buf, 0, buf.length, null, (e, written) => {
      if (e?.code === 'EAGAIN') {
        setTimeout(() => this.send(buf, fd), RETRY_MS);
        return;
      } // a non-blocking pipe is full
      if (e) this.log.error('cannot write access log', { target: this.target, error: e.message });
      else if (written < buf.length) {
        this.send(buf.subarray(written), fd);
        return;
      }
      this.flush();
    });
  }

  private done(): void {
    this.busy = false;
    if (this.dropped) {
      this.log.warn('access log lines dropped: the target is not keeping up', { target: this.target, lines: this.dropped });
      this.dropped = 0;
    }
    for (const w of this.idle.splice(0)) w();
  }

  /** drained resolves once every queued line is written. */
  drained(): Promise<void> {
    return this.busy ? new Promise((resolve) => this.idle.push(resolve)) : Promise.resolve();
  }

  /** reopen opens the file path anew (after logrotate moved it) and closes the old descriptor once its writes are done. */
  reopen(): Promise<void> {
    // Every unit sharing this writer asks at once on USR1: one reopen serves them all.
    this.reopening ??= this.reopenFile().finally(() => {
      this.reopening = undefined;
    });
    return this.reopening;
  }

  private async reopenFile(): Promise<void> {
    if (!this.isFile || this.closed) return;
    const fresh = await openFd(this.target);
    const old = this.fd;
    this.fd = fresh;
    await this.drained();
    await closeFd(old);
  }

  /** close lets go of one share; the last one writes what is queued and closes the file. */
  async close(): Promise<void> {
    if (this.closed || --this.users > 0) return;
    LineWriter.shared.delete(this.target);
    await this.drained();
    this.closed = true;
    if (this.isFile) await closeFd(this.fd);
  }
}
