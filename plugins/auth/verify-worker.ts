// A worker thread of HashPool: it checks one password against one hash at a time, so that
// bcrypt's deliberate slowness never blocks the event loop that serves requests.
import { parentPort } from 'node:worker_threads';
import { checkHash } from './htpasswd.js';
import type { VerifyJob, VerifyResult } from './hash-pool.js';

parentPort!.on('message', (job: VerifyJob) => {
  let result: VerifyResult;
  try {
    result = { id: job.id, same: checkHash(job.password, job.hash) };
  } catch (e) {
    result = { id: job.id, error: (e as Error).message };
  }
  parentPort!.postMessage(result);
});
