import { AggregatorRegistry, openMetricsContentType, prometheusContentType } from 'prom-client';
import { DURATION_BUCKETS, type MasterStatus, type WorkerStats } from '../../core/index.js';
import { RETIRED_PID } from './retired.js';

// /metrics: each worker's numbers become prom-client's JSON form of a registry (what
// getMetricsAsJSON gives), the master's own beside them, and prom-client sums them across
// workers (AggregatorRegistry.aggregate, as for a Node cluster) and writes the exposition.
// Workers keep plain counters: a prom-client metric per request would cost them far more.

type Kind = 'counter' | 'gauge' | 'histogram' | 'summary';
type Aggregator = 'sum' | 'min' | 'max';
interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
  readonly metricName?: string;
}
interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: Kind;
  readonly aggregator: Aggregator;
  readonly values: Sample[];
}

/** Families gathers the metric families of one process, in prom-client's JSON form. */
class Families {
  private readonly byName = new Map<string, Family>();

  add(name: string, type: Kind, help: string, labels: Record<string, string>, value: number, o: { metricName?: string; aggregator?: Aggregator } = {}): void {
    let f = this.byName.get(name);
    if (!f) this.byName.set(name, (f = { name, help, type, aggregator: o.aggregator ?? 'sum', values: [] }));
    f.values.push(o.metricName === undefined ? { labels, value } : { labels, value, metricName: o.metricName });
  }

  list(): Family[] {
    return [...this.byName.values()];
  }
}

const CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** trafficFamilies are one worker's requests, durations, bytes and connections. */
function trafficFamilies(f: Families, s: WorkerStats): void {
  const t = s.traffic;
  f.add('gatekit_http_requests_in_flight', 'gauge', 'Requests being served', {}, t.inFlight);
  for (const r of t.routes) {
    const where = { server: r.server, route: r.route };
    r.byClass.forEach((n, i) => {
      if (n) f.add('gatekit_http_requests_total', 'counter', 'Requests answered, by server, route and status class', { ...where, code: CLASSES[i] }, n);
    });
    const count = r.buckets.reduce((a, b) => a + b, 0);
    if (!count) continue;
    const h = 'gatekit_http_request_duration_seconds';
    const help = "Time from a request's arrival to the end of its response";
    let cumulative = 0;
    DURATION_BUCKETS.forEach((le, i) => {
      cumulative += r.buckets[i];
      f.add(h, 'histogram', help, { ...where, le: String(le) }, cumulative, { metricName: `${h}_bucket` });
    });
    f.add(h, 'histogram', help, { ...where, le: '+Inf' }, count, { metricName: `${h}_bucket` });
    f.add(h, 'histogram', help, where, r.durationSum, { metricName: `${h}_sum` });
    f.add(h, 'histogram', help, where, count, { metricName: `${h}_count` });
    f.add('gatekit_http_sent_bytes_total', 'counter', 'Response bytes sent (head and body)', where, r.bytesOut);
  }
  for (const l of t.listeners) {
    f.add('gatekit_http_received_bytes_total', 'counter', 'Bytes read from client connections', { listener: l.listener }, l.bytesIn);
    f.add('gatekit_connections_open', 'gauge', 'Client connections open', { listener: l.listener }, l.open);
    f.add('gatekit_connections_accepted_total', 'counter', 'Client connections accepted', { listener: l.listener }, l.accepted);
  }
}

/** unitFamilies are one worker's view of the upstreams and pools. */
function unitFamilies(f: Families, s: WorkerStats): void {
  for (const u of s.units.flatMap((r) => r.upstreams ?? [])) {
    const l = { upstream: u.id, proxy: u.proxy };
    f.add('gatekit_upstream_healthy', 'gauge', '1 when every worker sees the upstream healthy', l, u.healthy ? 1 : 0, { aggregator: 'min' });
    f.add('gatekit_upstream_drained', 'gauge', '1 when the upstream is drained (out of rotation) by the admin API', l, u.drained ? 1 : 0, {
      aggregator: 'max',
    });
    f.add('gatekit_upstream_requests_in_flight', 'gauge', 'Requests in flight to the upstream', l, u.inFlight);
    f.add('gatekit_upstream_failures_total', 'counter', 'Exchanges with the upstream that failed', l, u.failures);
    const d = 'gatekit_upstream_duration_seconds';
    f.add(d, 'summary', 'Time of exchanges with the upstream', l, u.latencySum, { metricName: `${d}_sum` });
    f.add(d, 'summary', 'Time of exchanges with the upstream', l, u.requests, { metricName: `${d}_count` });
  }
  for (const p of s.units.flatMap((r) => r.pools ?? [])) {
    const l = { pool: p.name, kind: p.kind };
    f.add('gatekit_pool_processes', 'gauge', 'Processes an application pool is to run', l, p.size, { aggregator: 'max' });
    f.add('gatekit_pool_busy', 'gauge', 'Requests an application pool is serving', l, p.busy);
    f.add('gatekit_pool_queue_length', 'gauge', 'Requests waiting for a free process of a pool', l, p.queue);
  }
}

/** masterFamilies are the master's own: workers, restarts, reloads, the config generation. */
function masterFamilies(m: MasterStatus, version: string, workers: readonly WorkerStats[]): Families {
  const f = new Families();
  f.add('gatekit_build_info', 'gauge', 'Always 1; the version is a label', { version }, 1);
  f.add('gatekit_start_time_seconds', 'gauge', 'When the master started, in seconds since the epoch', {}, m.startedAt / 1000);
  f.add('gatekit_config_generation', 'gauge', 'Config generation served (1, then one more per reload)', {}, m.generation);
  for (const outcome of ['reloaded', 'refused', 'failed'] as const) {
    f.add('gatekit_reloads_total', 'counter', 'Reloads, by result', { result: outcome }, m.reloadCounts[outcome]);
  }
  f.add('gatekit_worker_restarts_total', 'counter', 'Workers replaced after dying or hanging', {}, m.restarts);
  const states = new Map<string, number>([
    ['booting', 0],
    ['ready', 0],
    ['draining', 0],
  ]);
  for (const w of m.workers) states.set(w.state, (states.get(w.state) ?? 0) + 1);
  for (const [state, n] of states) f.add('gatekit_workers', 'gauge', 'Worker processes, by state', { state }, n);
  for (const s of workers) {
    if (s.pid === RETIRED_PID) continue; // the exited workers' counts: no process of its own
    const slot = String(m.workers.find((w) => w.pid === s.pid)?.slot ?? 0);
    f.add('gatekit_worker_resident_memory_bytes', 'gauge', 'Resident memory of a worker', { worker: slot, generation: String(s.generation) }, s.rssBytes);
    f.add(
      'gatekit_worker_cpu_seconds_total',
      'counter',
      'CPU time of a worker (user and system)',
      { worker: slot, generation: String(s.generation) },
      s.cpuSeconds,
    );
  }
  return f;
}

/** wantsOpenMetrics tells whether an Accept header asks for OpenMetrics. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return /application\/openmetrics-text/i.test(accept ?? '');
}

/** exposition writes /metrics: every worker's numbers summed, and the master's; OpenMetrics when asked. */
export async function exposition(
  m: MasterStatus,
  version: string,
  workers: readonly WorkerStats[],
  openMetrics: boolean,
): Promise<{ contentType: string; text: string }> {
  const perWorker = workers.map((s) => {
    const f = new Families();
    trafficFamilies(f, s);
    unitFamilies(f, s);
    return f.list();
  });
  const all = [...perWorker, masterFamilies(m, version, workers).list()];
  // OpenMetrics names a counter's family without `_total` and its samples with it: prom-client
  // adds the suffix to samples, but does not take it off an aggregated family's name
  const named = openMetrics ? all.map((fs) => fs.map((f) => (f.type === 'counter' ? { ...f, name: f.name.replace(/_total$/, '') } : f))) : all;
  const registry = AggregatorRegistry.aggregate(named);
  const contentType = openMetrics ? openMetricsContentType : prometheusContentType;
  registry.setContentType(contentType);
  return { contentType, text: await registry.metrics() };
}
