// What a worker counts of its own traffic, for the admin API (/status, /metrics): requests by
// server, route and status class, their durations, bytes, requests in flight, connections.
// Numbers come from the kernel's record of each response (ctx.sent), and only when a plugin
// in the config reads them (Plugin.readsTraffic: the admin API). A request then costs two
// array pushes here; its record is read once per event-loop turn, when most responses are
// over already (the rest are read when they end, through ctx.onSent).

import type { Socket } from 'node:net';
import type { Ctx } from './context.js';
import type { Sent } from './pipeline.js';

/** DURATION_BUCKETS are the upper bounds, in seconds, of the request duration histogram. */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** RouteCounts are one route's totals: requests by status class, durations, bytes sent. */
export interface RouteCounts {
  readonly server: string;
  /** route is the route as written (`/api/`, `= /health`, `~ ^/u/(\d+)$`), or '' for requests no route served. */
  readonly route: string;
  /** byClass counts responses by status class: [other, 1xx, 2xx, 3xx, 4xx, 5xx]. */
  readonly byClass: readonly number[];
  /** buckets count durations per DURATION_BUCKETS bound (not cumulative), the last one beyond them. */
  readonly buckets: readonly number[];
  readonly durationSum: number;
  /** bytesOut are header and body bytes sent. */
  readonly bytesOut: number;
}

/** ListenerCounts are one listening address's connections. */
export interface ListenerCounts {
  readonly listener: string;
  readonly open: number;
  readonly accepted: number;
  /** bytesIn are the bytes read from its connections (requests, with their framing; TLS records on TLS ones). */
  readonly bytesIn: number;
}

/** TrafficCounts is a worker's traffic so far. */
export interface TrafficCounts {
  readonly requests: number;
  readonly inFlight: number;
  readonly routes: readonly RouteCounts[];
  readonly listeners: readonly ListenerCounts[];
}

/** RouteTally counts the responses of one route. */
export class RouteTally {
  private readonly byClass = [0, 0, 0, 0, 0, 0];
  private readonly buckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  private durationSum = 0;
  private bytesOut = 0;

  constructor(
    readonly server: string,
    readonly route: string,
  ) {}

  /** count adds one finished response. */
  count(s: Sent): void {
    const cls = (s.status / 100) | 0;
    this.byClass[cls >= 1 && cls <= 5 ? cls : 0]++;
    const seconds = s.totalMs / 1000;
    let b = 0;
    while (b < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[b]) b++;
    this.buckets[b]++;
    this.durationSum += seconds;
    this.bytesOut += s.headerBytes + s.bodyBytes;
  }

  /** counts copies the totals. */
  counts(): RouteCounts {
    return {
      server: this.server,
      route: this.route,
      byClass: [...this.byClass],
      buckets: [...this.buckets],
      durationSum: this.durationSum,
      bytesOut: this.bytesOut,
    };
  }
}

/** ListenerTally counts the connections of one listening address. */
export class ListenerTally {
  private readonly live = new Set<Socket>();
  private accepted = 0;
  private closedBytesIn = 0;

  constructor(readonly listener: string) {}

  /** connected follows one accepted connection until it closes. */
  connected(socket: Socket): void {
    this.accepted++;
    this.live.add(socket);
    socket.once('close', () => {
      this.live.delete(socket);
      this.closedBytesIn += socket.bytesRead;
    });
  }

  /** counts reads the totals, live connections included. */
  counts(): ListenerCounts {
    let bytesIn = this.closedBytesIn;
    for (const s of this.live) bytesIn += s.bytesRead;
    return { listener: this.listener, open: this.live.size, accepted: this.accepted, bytesIn };
  }
}

/** Traffic is one worker's traffic recorder (see the file comment); it records nothing until turned on. */
export class Traffic {
  /** on: a plugin that reads the counts is in the config (see Plugin.readsTraffic). */
  on = false;
  private pending: Ctx[] = [];
  private tallies: RouteTally[] = [];
  private scheduled = false;
  private requests = 0;
  private inFlight = 0;
  private readonly routes = new Set<RouteTally>();
  private readonly listeners: ListenerTally[] = [];

  /** route makes the tally of one route (or of a server's requests no route served). */
  route(server: string, route: string): RouteTally {
    const t = new RouteTally(server, route);
    this.routes.add(t);
    return t;
  }

  /** listener makes the tally of one listening address. */
  listener(name: string): ListenerTally {
    const t = new ListenerTally(name);
    this.listeners.push(t);
    return t;
  }

  /** add records a request as it arrives, counted against `tally` unless routed() names another. */
  add(ctx: Ctx, tally: RouteTally): void {
    if (!this.on) return;
    this.pending.push(ctx);
    this.tallies.push(tally);
    this.requests++;
    this.inFlight++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.sweep);
    }
  }

  /** routed moves the request added last (routing follows add in the same turn) to its route's tally. */
  routed(tally: RouteTally): void {
    if (this.on) this.tallies[this.tallies.length - 1] = tally; // (off, the list is empty: index -1 would make it a dictionary)
  }

  private readonly sweep = (): void => {
    this.scheduled = false;
    const ctxs = this.pending;
    const tallies = this.tallies;
    this.pending = [];
    this.tallies = [];
    for (let i = 0; i < ctxs.length; i++) {
      const ctx = ctxs[i];
      const tally = tallies[i];
      if (ctx.sent.done) this.end(tally, ctx.sent);
      else ctx.onSent((s) => this.end(tally, s));
    }
  };

  private end(tally: RouteTally, s: Sent): void {
    this.inFlight--;
    tally.count(s);
  }

  /** counts reads the totals. */
  counts(): TrafficCounts {
    return {
      requests: this.requests,
      inFlight: this.inFlight,
      routes: [...this.routes].map((t) => t.counts()),
      listeners: this.listeners.map((t) => t.counts()),
    };
  }
}
