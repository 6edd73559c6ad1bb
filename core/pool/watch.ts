import { connect, type Socket } from 'node:net';

/** PoolStatus is what the keeper reports: ready Python workers, and whether they fail to load the app. */
export interface PoolStatus {
  readonly connected: boolean;
  readonly workers: number;
  readonly failing: boolean;
  /** missing: the keeper's socket does not exist, so no pool was started for this config (not a restart). */
  readonly missing?: boolean;
}


/**
 * PoolWatch follows a pool's status over a connection to its keeper, reconnecting (with
 * backoff) when the keeper is not there yet or was replaced.
 */
export class PoolWatch {
  status: PoolStatus = { connected: false, workers: 0, failing: false };
  private sock: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retry = 10;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  /** maxRetry caps the wait between two connection attempts (ms). */
  constructor(private readonly keeperPath: string, private readonly maxRetry = 1000) {}

  /** open starts following; it returns at once. */
  open(): void {
    if (this.closed || this.sock) return;
    const sock = connect(this.keeperPath);
    this.sock = sock;
    let buf: Buffer = Buffer.alloc(0);
    sock.on('connect', () => { this.retry = 10; sock.write('W'); });
    sock.on('data', (c: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, c]) : c;
      while (buf.length >= 8) {
        this.set({ connected: true, workers: buf.readUInt32BE(0), failing: buf.readUInt32BE(4) === 1 });
        buf = buf.subarray(8);
      }
    });
    let missing = false;
    sock.on('error', (e: NodeJS.ErrnoException) => { missing = e.code === 'ENOENT'; });
    sock.on('close', () => {
      this.sock = undefined;
      this.set({ connected: false, workers: 0, failing: false, missing });
      if (this.closed) return;
      this.timer = setTimeout(() => this.open(), this.retry);
      this.timer.unref();
      this.retry = Math.min(this.maxRetry, this.retry * 2);
    });
  }

  private set(s: PoolStatus): void {
    this.status = s;
    for (const w of [...this.waiters]) w();
  }

  /** until resolves true once `pred` holds for the status, or false after `ms`. */
  until(pred: (s: PoolStatus) => boolean, ms: number): Promise<boolean> {
    if (pred(this.status)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => { if (pred(this.status)) done(true); };
      const done = (v: boolean): void => { clearTimeout(t); this.waiters.delete(check); resolve(v); };
      const t = setTimeout(() => done(false), ms);
      this.waiters.add(check);
    });
  }

  /** close stops following (idempotent). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.sock?.destroy();
    for (const w of [...this.waiters]) w();
  }
}
