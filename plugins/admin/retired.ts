import type { ListenerCounts, MasterStatus, RouteCounts, WorkerStats } from '../../core/index.js';

/** RETIRED_PID marks the stand-in for workers that have exited (no process has pid 0). */
export const RETIRED_PID = 0;

const keyOf = (pid: number, generation: number): string => `${pid}/${generation}`;

/**
 * RetiredTotals keeps counters summed over workers from going down when a worker exits (a
 * recycle, a reload, a crash): it remembers each worker's last numbers and, once the master
 * no longer runs it, keeps them in a stand-in worker with pid 0. A worker that is only slow to
 * answer is still the master's, and is not folded in. Only what it counted in its last
 * second before exiting is lost.
 */
export class RetiredTotals {
  private readonly last = new Map<string, WorkerStats>();
  private readonly routes = new Map<string, RouteCounts>();
  private readonly listeners = new Map<string, ListenerCounts>();

  /** with returns the workers' numbers and, when some have exited, the stand-in that holds theirs. */
  with(workers: readonly WorkerStats[], master: MasterStatus): WorkerStats[] {
    const answered = new Set<string>();
    for (const w of workers) {
      const key = keyOf(w.pid, w.generation);
      this.last.set(key, w);
      answered.add(key);
    }
    const running = new Set(master.workers.map((w) => keyOf(w.pid ?? -1, w.generation)));
    for (const [key, w] of this.last) {
      if (running.has(key) || answered.has(key)) continue; // one that answered and exited since is folded next time
      this.last.delete(key);
      this.fold(w);
    }
    return this.routes.size || this.listeners.size ? [...workers, this.standIn()] : [...workers];
  }

  private fold(w: WorkerStats): void {
    for (const r of w.traffic.routes) {
      const key = `${r.server}\t${r.route}`;
      const a = this.routes.get(key);
      this.routes.set(
        key,
        !a
          ? r
          : {
              ...a,
              byClass: a.byClass.map((n, i) => n + r.byClass[i]),
              buckets: a.buckets.map((n, i) => n + r.buckets[i]),
              durationSum: a.durationSum + r.durationSum,
              bytesOut: a.bytesOut + r.bytesOut,
            },
      );
    }
    for (const l of w.traffic.listeners) {
      const a = this.listeners.get(l.listener);
      this.listeners.set(l.listener, { listener: l.listener, open: 0, accepted: (a?.accepted ?? 0) + l.accepted, bytesIn: (a?.bytesIn ?? 0) + l.bytesIn });
    }
  }

  private standIn(): WorkerStats {
    return {
      pid: RETIRED_PID,
      generation: 0,
      rssBytes: 0,
      cpuSeconds: 0,
      loopDelayMs: { p50: 0, p99: 0, max: 0 },
      units: [],
      traffic: { requests: 0, inFlight: 0, routes: [...this.routes.values()], listeners: [...this.listeners.values()] },
    };
  }
}
