import { createWriteStream, type WriteStream } from 'node:fs';
import type { LineSink } from './logger.js';

// A log line that cannot be written must never cost a request or the process. Node reports a
// failed write to stdout or stderr (EPIPE once the reader is gone, as in `gatekit run 2>&1 |
// head`) with an 'error' event emitted later, which ends the process when nobody listens. Every
// target here catches its errors, drops and counts lines while it cannot write, and tells so
// once where it still can: on the other standard stream, or in the log itself when it recovers.

/** RETRY_MS is how long a failed log file rests before it is opened again. */
const RETRY_MS = 1000;

const stamp = (level: string, msg: string): string => `${new Date().toISOString()} ${level} ${msg}`;

/** StdioLines writes lines to stdout or stderr; after a write error it drops and counts them. */
class StdioLines {
  private failure: string | undefined;
  private dropped = 0;

  constructor(
    private readonly name: 'stdout' | 'stderr',
    private readonly stream: NodeJS.WriteStream,
  ) {
    stream.on('error', (e: Error) => this.fail(e));
  }

  private get other(): StdioLines {
    return this.name === 'stdout' ? stdio().stderr : stdio().stdout;
  }

  /** line writes one line, or counts it when the stream has failed. */
  line(text: string): void {
    if (this.failure !== undefined || this.stream.destroyed) {
      this.dropped++;
      return;
    }
    this.stream.write(`${text}\n`);
  }

  private fail(e: Error): void {
    if (this.failure !== undefined) return;
    this.failure = e.message;
    this.other.line(stamp('error', `cannot write to ${this.name} (${e.message}): its log lines are dropped from now on`));
  }

  /** tellDropped reports, on the other stream, how many lines were dropped (at exit). */
  tellDropped(): void {
    if (this.dropped) this.other.line(stamp('warn', `${this.dropped} log lines to ${this.name} were dropped (${this.failure})`));
  }
}

let streams: { readonly stdout: StdioLines; readonly stderr: StdioLines } | undefined;

/** stdio returns the guarded standard streams, catching their write errors from the first call on. */
function stdio(): { readonly stdout: StdioLines; readonly stderr: StdioLines } {
  streams ??= { stdout: new StdioLines('stdout', process.stdout), stderr: new StdioLines('stderr', process.stderr) };
  return streams;
}

/**
 * guardStdio makes a write error on stdout or stderr (a reader gone, a full disk) drop output
 * instead of ending the process; every gatekit process calls it first, since plugins and apps
 * may write there too.
 */
export function guardStdio(): void {
  stdio();
}

/** stderrSink writes lines to standard error (dropping them if it cannot). */
export const stderrSink: LineSink = (line) => stdio().stderr.line(line);

/**
 * FileLines appends lines to a file through a stream (a slow disk never blocks the event loop).
 * After a write error it drops and counts lines, says so once on stderr, and opens the file
 * again after RETRY_MS (or on reopen), writing first how many lines were lost.
 */
class FileLines {
  private stream: WriteStream;
  private failure: { readonly message: string; readonly at: number } | undefined;
  private dropped = 0;
  private told = false;

  constructor(private readonly path: string) {
    this.stream = this.open();
  }

  private open(): WriteStream {
    const s = createWriteStream(this.path, { flags: 'a' });
    s.on('error', (e) => {
      if (s === this.stream) this.fail(e);
    });
    return s;
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = { message: e.message, at: Date.now() };
    if (this.told) return;
    this.told = true;
    stderrSink(stamp('error', `cannot write error log ${this.path} (${e.message}): dropping its lines, trying again every ${RETRY_MS / 1000}s`));
  }

  line(text: string): void {
    if (this.failure && Date.now() - this.failure.at < RETRY_MS) {
      this.dropped++;
      return;
    }
    if (this.failure) this.reopen();
    this.stream.write(`${text}\n`);
  }

  /** reopen opens the path anew (after rotation, or to retry a failed file) and ends the old stream. */
  reopen(): void {
    const old = this.stream;
    this.stream = this.open();
    old.end();
    const failed = this.failure;
    this.failure = undefined;
    if (!failed) return;
    const n = this.dropped;
    this.stream.write(`${stamp('warn', `error log writable again; ${n} lines dropped (${failed.message})`)}\n`, (e) => {
      if (e) return; // still failing: the count carries over to the next try
      this.dropped -= n;
      this.told = false;
    });
  }

  close(): Promise<void> {
    return this.stream.destroyed ? Promise.resolve() : new Promise((resolve) => this.stream.end(resolve));
  }
}

/** LogTarget is an open error-log destination that can be reopened after log rotation. */
export interface LogTarget {
  readonly sink: LineSink;
  /** reopen closes and reopens a file target (USR1); a no-op for stderr and stdout. */
  reopen(): void;
  close(): Promise<void>;
}

/**
 * openLogTarget opens 'stderr', 'stdout' or a file (appending). Each line is one write, and
 * with O_APPEND lines from several workers never interleave. No write error escapes it.
 */
export function openLogTarget(target: string): LogTarget {
  if (target === 'stderr' || target === 'stdout') {
    const s = stdio()[target];
    return { sink: (l) => s.line(l), reopen: () => {}, close: async () => s.tellDropped() };
  }
  const file = new FileLines(target);
  return { sink: (l) => file.line(l), reopen: () => file.reopen(), close: () => file.close() };
}
