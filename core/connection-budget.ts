import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Logger } from './logger.js';

/**
 * fdLimit reads the process's soft limit on open files (`ulimit -n`) from /proc/self/limits;
 * undefined where there is none to read (not Linux) or no limit.
 */
export function fdLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** budgetFor is how many client connections a process may hold under an open-file limit: a quarter (at least 64) stays for everything else. */
export function budgetFor(limit: number): number {
  return Math.max(1, limit - Math.max(64, Math.floor(limit / 4)));
}

/**
 * Refusals logs connections refused for one cause at most once a second, with how many: the
 * first at once, those after it in one line per second while they go on.
 */
class Refusals {
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly report: (refused: number) => void) {}

  note(): void {
    if (this.timer) {
      this.count++;
      return;
    }
    this.report(1);
    this.timer = setTimeout(() => this.flush(), 1000).unref();
  }

  private flush(): void {
    this.timer = undefined;
    if (this.count === 0) return;
    const n = this.count;
    this.count = 0;
    this.report(n);
    this.timer = setTimeout(() => this.flush(), 1000).unref();
  }
}

/**
 * ConnectionBudget keeps a process's client connections, on all its listeners, below its
 * open-file limit. At the limit libuv accepts and closes new connections itself, unseen (it
 * keeps a spare descriptor for that): gatekit closes them first, so that it can say so. A
 * connection over the budget is closed unanswered, and logged; serving resumes as
 * connections close. One per process, as the limit is.
 */
export class ConnectionBudget {
  private open = 0;
  private readonly overBudget: Refusals;
  private readonly acceptFailed: Refusals;
  private log: Logger | undefined;
  private lastError = '';

  constructor(
    readonly max: number,
    private readonly limit: number | undefined,
  ) {
    this.overBudget = new Refusals((n) =>
      this.log?.error('connections refused at the open-file limit', {
        refused: n,
        client_connections: this.max,
        open_file_limit: this.limit,
        help: 'raise ulimit -n (LimitNOFILE= in systemd)',
      }),
    );
    this.acceptFailed = new Refusals((n) => this.log?.error('cannot accept connections', { failures: n, error: this.lastError, open: this.open }));
  }

  /** admit counts a new client connection, or closes it when the budget is spent. */
  admit(socket: Socket, log: Logger): void {
    if (this.open >= this.max) {
      this.log = log;
      socket.destroy();
      this.overBudget.note();
      return;
    }
    this.open++;
    socket.once('close', () => {
      this.open--;
    });
  }

  /** acceptError logs a listener's failure to accept (EMFILE where libuv's spare descriptor is gone, ENFILE, ENOMEM). */
  acceptError(e: NodeJS.ErrnoException, log: Logger): void {
    this.log = log;
    this.lastError = e.message;
    this.acceptFailed.note();
  }
}

let processBudget: ConnectionBudget | undefined;

/** connectionBudget is this process's budget, made on first use from its open-file limit. */
export function connectionBudget(): ConnectionBudget {
  if (processBudget) return processBudget;
  const limit = fdLimit();
  return (processBudget = new ConnectionBudget(limit ? budgetFor(limit) : Infinity, limit));
}
