import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { UnitReport } from '../report.js';
import type { TrafficCounts } from '../traffic.js';

/** RESOLUTION_MS is the event-loop delay sampling period. */
const RESOLUTION_MS = 20;

/** WorkerStats is what a worker tells the master when asked for its numbers (admin). */
export interface WorkerStats {
  readonly pid: number;
  readonly generation: number;
  readonly rssBytes: number;
  readonly cpuSeconds: number;
  /** loopDelayMs is the event loop's delay since the last report: median, 99th percentile, worst. */
  readonly loopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly traffic: TrafficCounts;
  readonly units: readonly UnitReport[];
}

/** StatsSource is what a running gate offers a report: its traffic and its units' reports. */
export interface StatsSource {
  traffic(): TrafficCounts;
  reports(): UnitReport[];
}

/**
 * ProcessProbe measures the process a gate runs in: memory, CPU, and the event loop's delay,
 * sampled every 20 ms by Node's own timer from the first report on (a server nobody asks
 * wakes up for nothing: 2 ms of CPU a second when idle).
 */
export class ProcessProbe {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private enabled = false;

  /** stats reads the process and `source`, and starts a new delay window. */
  stats(source: StatsSource, generation: number): WorkerStats {
    if (!this.enabled) {
      this.enabled = true;
      this.delay.enable();
    }
    const cpu = process.cpuUsage();
    const d = this.delay;
    // the histogram holds the time between the sampling timer's runs: the delay is what exceeds its period
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100) : 0);
    const loopDelayMs = d.count ? { p50: ms(d.percentile(50)), p99: ms(d.percentile(99)), max: ms(d.max) } : { p50: 0, p99: 0, max: 0 };
    d.reset();
    return {
      pid: process.pid,
      generation,
      rssBytes: process.memoryUsage.rss(),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      loopDelayMs,
      traffic: source.traffic(),
      units: source.reports(),
    };
  }

  /** stop turns the sampling off. */
  stop(): void {
    this.delay.disable();
  }
}
