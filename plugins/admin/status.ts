import type { MasterStatus, PoolReport, UpstreamReport, WorkerStats } from '../../core/index.js';

/** UpstreamStatus is one upstream as every worker together sees it. */
export interface UpstreamStatus extends Omit<UpstreamReport, 'latencySum'> {
  /** meanLatencySeconds is the mean time of its exchanges (0 before any). */
  readonly meanLatencySeconds: number;
}

/** mergeUpstreams sums the workers' views of each upstream: healthy only when every worker sees it so. */
export function mergeUpstreams(workers: readonly WorkerStats[]): UpstreamStatus[] {
  const byKey = new Map<string, UpstreamReport>();
  for (const u of workers.flatMap((w) => w.units.flatMap((r) => r.upstreams ?? []))) {
    const key = `${u.proxy} ${u.id}`;
    const a = byKey.get(key);
    byKey.set(
      key,
      !a
        ? u
        : {
            ...a,
            healthy: a.healthy && u.healthy,
            drained: a.drained || u.drained,
            inFlight: a.inFlight + u.inFlight,
            requests: a.requests + u.requests,
            failures: a.failures + u.failures,
            latencySum: a.latencySum + u.latencySum,
            ...((a.reason ?? u.reason) === undefined ? {} : { reason: a.reason ?? u.reason }),
          },
    );
  }
  return [...byKey.values()].map(({ latencySum, ...u }) => ({ ...u, meanLatencySeconds: u.requests ? latencySum / u.requests : 0 }));
}

/** mergePools joins the workers' views of each pool: its processes once each, busy and queued requests summed. */
export function mergePools(workers: readonly WorkerStats[]): PoolReport[] {
  const byName = new Map<string, PoolReport>();
  for (const p of workers.flatMap((w) => w.units.flatMap((r) => r.pools ?? []))) {
    const a = byName.get(p.name);
    if (!a) {
      byName.set(p.name, p);
      continue;
    }
    const pids = new Set(a.processes.map((x) => x.pid));
    byName.set(p.name, {
      ...a,
      size: Math.max(a.size, p.size),
      busy: a.busy + p.busy,
      queue: a.queue + p.queue,
      processes: [...a.processes, ...p.processes.filter((x) => !pids.has(x.pid))],
    });
  }
  return [...byName.values()];
}

/** statusJson is GET /status: the master, its config and reloads, the workers with their numbers, the upstreams and pools. */
export function statusJson(m: MasterStatus, workers: readonly WorkerStats[], version: string): object {
  const stats = new Map(workers.map((w) => [w.pid, w]));
  const now = Date.now();
  return {
    version,
    pid: m.pid,
    startedAt: new Date(m.startedAt).toISOString(),
    uptimeSeconds: Math.round((now - m.startedAt) / 1000),
    config: { file: m.file, generation: m.generation },
    lastReload: m.reloadHistory[0] ? reloadJson(m.reloadHistory[0]) : null,
    reloads: m.reloadHistory.map(reloadJson),
    restarts: m.restarts,
    workers: m.workers.map((w) => {
      const s = w.pid === undefined ? undefined : stats.get(w.pid);
      return {
        slot: w.slot,
        pid: w.pid ?? null,
        generation: w.generation,
        state: w.state,
        startedAt: new Date(now - w.uptimeMs).toISOString(),
        requests: s?.traffic.requests ?? w.requests,
        inFlight: s?.traffic.inFlight ?? null,
        rssBytes: s?.rssBytes ?? null,
        cpuSeconds: s?.cpuSeconds ?? null,
        loopDelayMs: s?.loopDelayMs ?? null,
      };
    }),
    upstreams: mergeUpstreams(workers),
    pools: mergePools(workers),
  };
}

function reloadJson(r: MasterStatus['reloadHistory'][number]): object {
  return { ...r, at: new Date(r.at).toISOString() };
}
