import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Hash } from './htpasswd.js';

/** VerifyJob is one password to check against one hash, sent to a worker thread. */
export interface VerifyJob {
  readonly id: number;
  readonly password: string;
  readonly hash: Hash;
}

/** VerifyResult is a worker thread's answer to a job: the password matches or not, or the check failed. */
export type VerifyResult = { readonly id: number; readonly same: boolean } | { readonly id: number; readonly error: string };

interface Pending {
  readonly job: VerifyJob;
  resolve(same: boolean): void;
  reject(e: Error): void;
}

interface Thread {
  readonly worker: Worker;
  job: Pending | undefined;
}

const WORKER_FILE = new URL('./verify-worker.js', import.meta.url);

/**
 * HashPool checks passwords against slow hashes on worker threads, at most one check per
 * thread at a time and `size` threads (one per CPU by default), started as work comes and
 * ended by close(). Checks beyond the running ones wait in line, in order. A thread that
 * dies fails its check and is replaced by the next check that needs one.
 */
export class HashPool {
  private readonly threads = new Set<Thread>();
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(private readonly size = availableParallelism()) {}

  /** running counts the threads alive. */
  get running(): number {
    return this.threads.size;
  }

  /** verify resolves with whether `password` matches `hash`; it rejects when the check itself fails or the pool closes. */
  verify(password: string, hash: Hash): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('the password check pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, password, hash }, resolve, reject });
      this.dispatch();
    });
  }

  /** close ends every thread; checks still waiting or running are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('the password check pool is closed'));
    await Promise.all([...this.threads].map((t) => t.worker.terminate()));
  }

  /** dispatch gives waiting checks to idle threads, starting threads up to `size`. */
  private dispatch(): void {
    for (const t of this.threads) {
      if (this.queue.length === 0) return;
      if (!t.job) this.give(t, this.queue.shift()!);
    }
    while (this.queue.length > 0 && this.threads.size < this.size) this.give(this.start(), this.queue.shift()!);
  }

  private give(t: Thread, p: Pending): void {
    t.job = p;
    t.worker.postMessage(p.job);
  }

  private start(): Thread {
    const t: Thread = { worker: new Worker(WORKER_FILE), job: undefined };
    t.worker.on('message', (r: VerifyResult) => {
      const p = t.job;
      t.job = undefined;
      if (p && p.job.id === r.id) {
        if ('error' in r) p.reject(new Error(`password check failed: ${r.error}`));
        else p.resolve(r.same);
      }
      this.dispatch();
    });
    const gone = (e: Error): void => {
      if (!this.threads.delete(t)) return;
      t.job?.reject(e);
      t.job = undefined;
      if (!this.closed) this.dispatch();
    };
    t.worker.on('error', gone);
    t.worker.on('exit', (code) => gone(new Error(`password check thread exited (${code})`)));
    this.threads.add(t);
    return t;
  }
}
