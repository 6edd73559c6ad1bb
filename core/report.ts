// What a unit shows of its live state in the admin API (/status, /metrics, the dashboard):
// the upstreams of a proxy, the processes of an application pool. Plain data, as it crosses
// from each worker to the master, which sums the workers' reports.

/** UpstreamReport is one upstream of a proxy as one worker sees it. */
export interface UpstreamReport {
  /** id names the upstream in the admin API (`/upstreams/{id}/drain`): its address, host:port or unix:/path. */
  readonly id: string;
  /** proxy says which `proxy` directive it belongs to (file:line). */
  readonly proxy: string;
  readonly healthy: boolean;
  /** reason says why it is not healthy (a failed health check, passive failures). */
  readonly reason?: string;
  readonly drained: boolean;
  readonly inFlight: number;
  /** requests and failures count exchanges since the worker started. */
  readonly requests: number;
  readonly failures: number;
  /** latencySum is the total time of its exchanges, in seconds (with `requests`, the mean). */
  readonly latencySum: number;
}

/** PoolReport is one application pool (wsgi, asgi, fastcgi, the CGI helper) as one worker sees it. */
export interface PoolReport {
  /** name says which pool: its directive and app (`wsgi hello:app`). */
  readonly name: string;
  readonly kind: string;
  /** processes are the pool's processes this worker knows, with their state. */
  readonly processes: readonly { readonly pid: number; readonly state: string }[];
  /** size is how many processes the pool is to run. */
  readonly size: number;
  readonly busy: number;
  /** queue counts requests waiting in this worker for a free process. */
  readonly queue: number;
}

/** UnitReport is what Unit.report() returns. */
export interface UnitReport {
  readonly upstreams?: readonly UpstreamReport[];
  readonly pools?: readonly PoolReport[];
}
