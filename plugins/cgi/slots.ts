import { HttpError } from '../../core/index.js';

interface Waiter {
  readonly grant: () => void;
  readonly leave: (e: Error) => void;
}

/**
 * Slots bounds how many scripts run at once. A request over the limit waits in line (first
 * come, first served) up to `wait` ms, then gets 503; close() turns every waiter away.
 */
export class Slots {
  private used = 0;
  private readonly line: Waiter[] = [];
  private closed = false;

  constructor(
    private readonly max: number,
    private readonly wait: number,
  ) {}

  /** running is how many slots are taken. */
  get running(): number {
    return this.used;
  }
  /** waiting is how many requests are in line. */
  get waiting(): number {
    return this.line.length;
  }

  /** take resolves with a release function once a slot is free; it rejects with 503 after the wait. */
  take(signal?: AbortSignal): Promise<() => void> {
    if (this.closed) return Promise.reject(new HttpError(503, 'shutting down'));
    if (this.used < this.max) {
      this.used++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        const i = this.line.indexOf(w);
        if (i >= 0) this.line.splice(i, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const w: Waiter = {
        grant: () => {
          settle();
          resolve(this.releaser());
        },
        leave: (e) => {
          settle();
          reject(e);
        },
      };
      const onAbort = (): void => w.leave(new HttpError(503, 'client went away while waiting'));
      const timer = setTimeout(() => w.leave(new HttpError(503, `all ${this.max} CGI process slots busy`, { headers: { 'retry-after': '1' } })), this.wait);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.line.push(w);
    });
  }

  /** close turns every waiter away with 503; running scripts keep their slots until released. */
  close(): void {
    this.closed = true;
    for (const w of [...this.line]) w.leave(new HttpError(503, 'shutting down'));
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.line[0];
      if (next)
        next.grant(); // the slot passes straight to the next in line
      else this.used--;
    };
  }
}
