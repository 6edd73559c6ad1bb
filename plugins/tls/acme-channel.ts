import type { Redis } from 'ioredis';
import type { Logger, StoreLease } from '../../core/index.js';
import type { ChallengeId, PendingChallenge } from './acme-storage.js';

/** AcmeEvent is what one instance tells the others through the store (or, for `resync`, what the channel tells its listeners). */
export type AcmeEvent =
  /** cert: a certificate was stored for `name` at the CA whose folder name is `ca`. */
  | { readonly kind: 'cert'; readonly ca: string; readonly name: string }
  /** challenge: an answer to publish (`put`) or to take down, acknowledged under `ack`. */
  | { readonly kind: 'challenge'; readonly put: true; readonly ack: string; readonly challenge: PendingChallenge }
  | { readonly kind: 'challenge'; readonly put: false; readonly ack: string; readonly challenge: ChallengeId }
  /** resync: the channel (re)connected, or RECHECK passed: read what the store holds, since messages may have been missed. */
  | { readonly kind: 'resync' };

/** RECHECK bounds how long an instance can miss a renewal another one stored (a message lost while the channel reconnected). */
const RECHECK = 60_000;
/** ACK_FOR is how long the acknowledgements of a published challenge are kept. */
const ACK_FOR = 600_000;

/**
 * AcmeChannel is one master's subscription to the store's ACME events (Redis pub/sub, on a
 * connection of its own, since a subscribed connection runs no other command): each message
 * goes to every listener (one per `tls acme` block), then a challenge is acknowledged, so the
 * instance that published it knows every instance can answer it.
 */
export class AcmeChannel {
  private readonly sub: Redis;
  private readonly listeners = new Set<(e: AcmeEvent) => void>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly lease: StoreLease,
    private readonly log: Logger,
  ) {
    this.sub = lease.redis.duplicate();
    let up = false;
    this.sub.on('error', () => {
      /* the lease's connection logs the outage */
    });
    this.sub.on('close', () => {
      if (up) this.log.warn('acme: lost the store; certificates keep serving from the local copy until it answers again');
      up = false;
    });
    this.sub.on('ready', () => {
      up = true;
      // the command connection may come back after this one: resync once it can answer
      this.sub
        .subscribe(this.name)
        .then(() => this.lease.ready(RECHECK))
        .then(
          () => this.emit({ kind: 'resync' }),
          (e: Error) => this.log.warn('acme: cannot subscribe to the store; checking it every minute', { error: e.message }),
        );
    });
    this.sub.on('message', (_channel: string, text: string) => this.heard(text));
    this.timer = setInterval(() => this.emit({ kind: 'resync' }), RECHECK);
    this.timer.unref();
  }

  /** name is the channel's name in the store. */
  get name(): string {
    return `${this.lease.prefix}acme:events`;
  }

  /** listen calls `fn` with each event until the returned function is called. */
  listen(fn: (e: AcmeEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** publish tells every instance (this one included); it resolves with how many channels heard it. */
  publish(e: Exclude<AcmeEvent, { kind: 'resync' }>): Promise<number> {
    return this.lease.redis.publish(this.name, JSON.stringify(e));
  }

  /** acknowledged counts the channels that acted on a challenge event. */
  async acknowledged(ack: string): Promise<number> {
    return Number((await this.lease.redis.get(ack)) ?? 0);
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
    this.sub.disconnect();
  }

  private heard(text: string): void {
    let e: AcmeEvent;
    try {
      e = JSON.parse(text) as AcmeEvent;
    } catch {
      return;
    }
    this.emit(e);
    if (e.kind === 'challenge') {
      this.lease.redis
        .multi()
        .incr(e.ack)
        .pexpire(e.ack, ACK_FOR)
        .exec()
        .catch((err: Error) => this.log.warn('acme: cannot acknowledge a challenge in the store', { error: err.message }));
    }
  }

  private emit(e: AcmeEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.log.error('acme: could not act on a store event', { event: e.kind, error: (err as Error).message });
      }
    }
  }
}
