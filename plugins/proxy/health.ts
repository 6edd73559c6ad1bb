import type { ClientRequest } from 'node:http';
import type { Logger } from '../../core/index.js';
import type { Upstream } from './upstream.js';

/** HealthSpec is a checked `health_check PATH { interval; timeout; expect }`. */
export interface HealthSpec {
  readonly path: string;
  readonly interval: number;
  readonly timeout: number;
  /** expect lists passing statuses; empty means any 2xx. */
  readonly expect: readonly number[];
}

/**
 * HealthChecker probes each upstream with a GET every interval (the first right away) and
 * marks it unhealthy on a failed probe, healthy again on a passing one. Per worker; close()
 * stops every timer and probe in flight.
 */
export class HealthChecker {
  private readonly timers = new Map<Upstream, NodeJS.Timeout>();
  private readonly probes = new Set<ClientRequest>();
  private closed = false;

  constructor(
    private readonly upstreams: readonly Upstream[],
    private readonly spec: HealthSpec,
    private readonly log: Logger,
  ) {}

  /**
   * start schedules the first probe of every upstream at a random point of the first interval:
   * upstreams count as healthy until a probe fails, workers do not probe in step, and a
   * gate's own listeners (opened after provision) are up before they are probed.
   */
  start(): void {
    for (const u of this.upstreams) this.schedule(u, Math.random() * this.spec.interval);
  }

  /** close stops probing. */
  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const p of this.probes) p.destroy();
    this.probes.clear();
  }

  private schedule(u: Upstream, delay: number): void {
    if (this.closed) return;
    this.timers.set(
      u,
      setTimeout(() => {
        void this.check(u);
      }, delay),
    );
  }

  private async check(u: Upstream): Promise<void> {
    const reason = await this.probe(u);
    if (this.closed) return;
    if (reason && u.healthy) this.log.warn('upstream failed its health check; no traffic until it passes', { upstream: u.key, reason });
    if (!reason && !u.healthy) this.log.info('upstream passed its health check again', { upstream: u.key });
    u.healthy = reason === undefined;
    u.healthReason = reason;
    this.schedule(u, this.spec.interval);
  }

  /** probe resolves to undefined when the upstream passes, else to why it failed. */
  private probe(u: Upstream): Promise<string | undefined> {
    return new Promise((resolve) => {
      const req = u.probe({ method: 'GET', path: this.spec.path, headers: ['Host', u.hostHeader, 'User-Agent', 'gatekit-health-check'] });
      this.probes.add(req);
      const done = (reason: string | undefined): void => {
        clearTimeout(timer);
        this.probes.delete(req);
        resolve(reason);
      };
      const timer = setTimeout(() => {
        req.destroy();
        done(`no answer within ${this.spec.timeout}ms`);
      }, this.spec.timeout);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        res.on('end', () => done(this.passes(status) ? undefined : `status ${status}`));
        res.on('error', (e) => done(e.message));
      });
      req.on('error', (e) => done((e as NodeJS.ErrnoException).code ?? e.message));
      req.end();
    });
  }

  private passes(status: number): boolean {
    return this.spec.expect.length ? this.spec.expect.includes(status) : status >= 200 && status < 300;
  }
}
