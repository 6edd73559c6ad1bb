// Messages between the master and its workers (over the cluster IPC channel).

import type { WorkerStats } from './worker-stats.js';

/** ToWorker is what the master tells a worker. */
export type ToWorker =
  /** config: load exactly these files (the master checked them) and start serving; `runDir` is the generation's run folder. */
  | {
      readonly t: 'config';
      readonly file: string;
      readonly files: readonly [string, string][];
      readonly generation: number;
      readonly runDir: string;
      readonly workerId: number;
    }
  /** drain: stop accepting, finish requests in flight within `timeout` ms, then exit 0. */
  | { readonly t: 'drain'; readonly timeout: number }
  /** reopen: reopen log files (USR1). */
  | { readonly t: 'reopen' }
  /** stats: report your numbers (admin); answer `stats` with the same `req`. */
  | { readonly t: 'stats'; readonly req: number }
  /** upstream: take upstream `id` out of rotation (`drained`) or back in; answer `upstream-done` with the same `req`. */
  | { readonly t: 'upstream'; readonly req: number; readonly id: string; readonly drained: boolean };

/** ToMaster is what a worker tells its master. */
export type ToMaster =
  /** hello: the worker listens for messages now; send the config. */
  | { readonly t: 'hello' }
  /** ready: listening, plugins provisioned; the master may retire the worker it replaces. */
  | { readonly t: 'ready' }
  /** boot-failed: the worker could not start; `error` says why. */
  | { readonly t: 'boot-failed'; readonly error: string }
  /** beat: the event loop is alive; `requests` served so far. */
  | { readonly t: 'beat'; readonly requests: number }
  /** recycle: max_requests reached; replace me, then drain me. */
  | { readonly t: 'recycle'; readonly requests: number }
  /** stats: the answer to `stats` number `req`. */
  | { readonly t: 'stats'; readonly req: number; readonly stats: WorkerStats }
  /** upstream-done: the answer to `upstream` number `req`; `found` tells whether a unit here has that upstream. */
  | { readonly t: 'upstream-done'; readonly req: number; readonly found: boolean };

/** ROLE_ENV names the environment variable that tells a forked process its role. */
export const ROLE_ENV = 'GATEKIT_ROLE';
