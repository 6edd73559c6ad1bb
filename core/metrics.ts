/** Labels name one series of a metric. */
export type Labels = Readonly<Record<string, string>>;

/** Counter only goes up. */
export interface Counter { inc(labels?: Labels, by?: number): void }
/** Gauge goes up and down. */
export interface Gauge { set(value: number, labels?: Labels): void; inc(labels?: Labels, by?: number): void; dec(labels?: Labels, by?: number): void }

/** MetricSample is one series' value, for exposition (admin, /metrics). */
export interface MetricSample { name: string; help: string; type: 'counter' | 'gauge'; labels: Labels; value: number }

/** Metrics is the worker's metrics registry: plugins create counters and gauges by name. */
export interface Metrics {
  counter(name: string, help: string): Counter;
  gauge(name: string, help: string): Gauge;
  /** samples lists every series and its current value. */
  samples(): MetricSample[];
}

const key = (labels?: Labels): string => (labels ? JSON.stringify(Object.entries(labels).sort()) : '');

class Series {
  readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'gauge') {}
  add(labels: Labels | undefined, by: number, set = false): void {
    const k = key(labels);
    const s = this.values.get(k);
    if (s) s.value = set ? by : s.value + by;
    else this.values.set(k, { labels: labels ?? {}, value: by });
  }
}

/** MemoryMetrics keeps metrics in memory. */
export class MemoryMetrics implements Metrics {
  private readonly series = new Map<string, Series>();

  private get(name: string, help: string, type: 'counter' | 'gauge'): Series {
    let s = this.series.get(name);
    if (!s) this.series.set(name, (s = new Series(name, help, type)));
    return s;
  }

  counter(name: string, help: string): Counter {
    const s = this.get(name, help, 'counter');
    return { inc: (labels, by = 1) => s.add(labels, by) };
  }

  gauge(name: string, help: string): Gauge {
    const s = this.get(name, help, 'gauge');
    return { set: (v, labels) => s.add(labels, v, true), inc: (labels, by = 1) => s.add(labels, by), dec: (labels, by = 1) => s.add(labels, -by) };
  }

  samples(): MetricSample[] {
    return [...this.series.values()].flatMap((s) => [...s.values.values()].map((v) => ({ name: s.name, help: s.help, type: s.type, ...v })));
  }
}
