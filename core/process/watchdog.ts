import { Worker } from 'node:worker_threads';

// The watchdog is a thread inside a worker process, so it keeps running when the worker's
// event loop is stuck (a handler in a busy loop). The main thread stamps a heartbeat and
// the request it is dispatching into shared memory; when the stamp goes stale for
// `timeout`, the thread writes one log line naming that request, then kills the process
// so the master replaces it.

const SLOTS = 3; // [0] heartbeat ms, [1] dispatch start ms, [2] request length in bytes
const MAX_REQUEST = 512;

const THREAD = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { shared, timeout, prefix } = workerData;
const nums = new Float64Array(shared, 0, ${SLOTS});
const bytes = new Uint8Array(shared, ${SLOTS * 8}, ${MAX_REQUEST});
setInterval(() => {
  const now = Date.now();
  if (nums[0] === 0 || now - nums[0] < timeout) return;
  const len = nums[2];
  const request = Buffer.from(bytes.subarray(0, len)).toString();
  const age = nums[1] ? now - nums[1] : 0;
  const line = new Date().toISOString() + ' error worker timeout: event loop blocked for ' + (now - nums[0]) + 'ms; killing it'
    + prefix + (len ? ' request=' + JSON.stringify(request) + ' request_age_ms=' + age : '') + '\\n';
  try { writeSync(2, line); } catch {}
  process.kill(process.pid, 'SIGKILL');
}, Math.max(20, Math.min(250, timeout / 4)));
`;

/** Watchdog is the main thread's side: cheap stamps into shared memory. */
export class Watchdog {
  private readonly nums: Float64Array;
  private readonly bytes: Uint8Array;
  private readonly encoder = new TextEncoder();
  private readonly thread: Worker;
  private readonly timer: NodeJS.Timeout;

  constructor(timeout: number, fields: string) {
    const shared = new SharedArrayBuffer(SLOTS * 8 + MAX_REQUEST);
    this.nums = new Float64Array(shared, 0, SLOTS);
    this.bytes = new Uint8Array(shared, SLOTS * 8, MAX_REQUEST);
    this.thread = new Worker(THREAD, { eval: true, workerData: { shared, timeout, prefix: fields } });
    this.thread.unref();
    this.nums[0] = Date.now();
    this.timer = setInterval(
      () => {
        this.nums[0] = Date.now();
      },
      Math.max(10, Math.min(500, timeout / 5)),
    );
    this.timer.unref();
  }

  /** dispatching records the request whose handler is about to run. */
  dispatching(method: string, uri: string): void {
    const { written } = this.encoder.encodeInto(`${method} ${uri}`, this.bytes);
    this.nums[2] = written;
    this.nums[1] = Date.now();
  }

  /** stop ends the watchdog (before a graceful exit). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.nums[0] = 0;
    await this.thread.terminate();
  }
}
