import type { TestGate } from '../helpers/gate.js';

/** Timed is a response read whole, with when it ended. */
export interface Timed {
  readonly status: number;
  readonly body: string;
  readonly at: number;
}

/** timed fetches a URL and resolves with its status, body and when it ended. */
export async function timed(url: string): Promise<Timed> {
  const res = await fetch(url);
  const body = await res.text();
  return { status: res.status, body, at: Date.now() };
}

/**
 * steadyLoad sends `rounds` batches of 4 concurrent requests for /pid, one batch after
 * another, and returns every status and the pids that answered (a pool with max_requests
 * recycles its workers meanwhile).
 */
export async function steadyLoad(g: TestGate, rounds = 15): Promise<{ statuses: number[]; pids: Set<string> }> {
  const pids = new Set<string>();
  const statuses: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const batch = await Promise.all(Array.from({ length: 4 }, () => timed(g.url('/pid'))));
    for (const r of batch) {
      statuses.push(r.status);
      pids.add(r.body);
    }
  }
  return { statuses, pids };
}
