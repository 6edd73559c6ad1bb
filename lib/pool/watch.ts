import { connect, type Socket } from 'node:net';

/** PoolWorker is a ready Python worker: its pid, and the name of its link socket in the pool's folder. */
export interface PoolWorker {
  readonly pid: number;
  readonly socket: string;
}

/** PoolStatus is what the keeper reports: the ready Python workers, and whether they fail to load the app. */
export interface PoolStatus {
  readonly connected: boolean;
  /** workers counts the ready Python workers. */
  readonly workers: number;
  /** ready lists the ready workers. */
  readonly ready: readonly PoolWorker[];
  readonly failing: boolean;
  /** missing: the keeper's socket does not exist, so no pool was started for this config (not a restart). */
  readonly missing?: boolean;
}

const DOWN: PoolStatus = { connected: false, workers: 0, ready: [], failing: false };

/**
 * PoolWatch follows a pool's status over a connection to its keeper, reconnecting (with
 * backoff) when the keeper is not there yet or was replaced. The keeper sends one JSON line
 * per change (see gatekit_pool.py).
 */
export class PoolWatch {
  status: PoolStatus = DOWN;
  private sock: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retry = 10;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  /** maxRetry caps the wait between two connection attempts (ms). */
  constructor(
    private readonly keeperPath: string,
    private readonly maxRetry = 1000,
  ) {}

  /** open starts following; it returns at once. */
  open(): void {
    if (this.closed || this.sock) return;
    const sock = connect(this.keeperPath);
    this.sock = sock;
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      this.retry = 10;
      sock.write('watch\n');
    });
    sock.on('data', (c: string) => {
      buf += c;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.set(parseStatus(line));
      }
    });
    let missing = false;
    sock.on('error', (e: NodeJS.ErrnoException) => {
      missing = e.code === 'ENOENT';
    });
    sock.on('close', () => {
      this.sock = undefined;
      this.set({ ...DOWN, missing });
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

  /** onChange calls `fn` after every status change, until close(). */
  onChange(fn: () => void): void {
    this.waiters.add(fn);
  }

  /** until resolves true once `pred` holds for the status, or false after `ms`. */
  until(pred: (s: PoolStatus) => boolean, ms: number): Promise<boolean> {
    if (pred(this.status)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (pred(this.status)) done(true);
      };
      const done = (v: boolean): void => {
        clearTimeout(t);
        this.waiters.delete(check);
        resolve(v);
      };
      const t = setTimeout(() => done(false), ms);
      this.waiters.add(check);
    });
  }

  /** close stops following (idempotent). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.sock?.destroy();
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }
}

/** parseStatus reads one status line of the keeper: {"workers": [[pid, socket], ...], "failing": bool}. */
function parseStatus(line: string): PoolStatus {
  const m = JSON.parse(line) as { workers: [number, string][]; failing: boolean };
  return { connected: true, workers: m.workers.length, ready: m.workers.map(([pid, socket]) => ({ pid, socket })), failing: m.failing };
}
