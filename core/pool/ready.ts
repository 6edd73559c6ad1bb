import { HttpError } from '../errors.js';
import { POOL_QUEUE_WAIT } from './links.js';
import type { PoolWatch } from './watch.js';

/**
 * awaitPoolWorker resolves once the pool a Node worker follows has a ready Python worker,
 * waiting up to `ms` while it starts or restarts; otherwise it throws a 503 HttpError
 * (with Retry-After) that says why: the app fails to load, or no pool runs at all.
 */
export async function awaitPoolWorker(watch: PoolWatch, kind: string, app: string, ms = POOL_QUEUE_WAIT): Promise<void> {
  if (watch.status.workers > 0) return;
  if (!watch.status.failing) await watch.until((s) => s.workers > 0 || s.failing || s.missing === true, ms);
  const s = watch.status;
  if (s.workers > 0) return;
  const why = s.failing ? `${kind} application '${app}' fails to load`
    : s.missing ? `no ${kind} pool runs for '${app}' (its master part was not started)` : `no ${kind} worker is ready`;
  throw new HttpError(503, why, { headers: { 'retry-after': '1' } });
}
