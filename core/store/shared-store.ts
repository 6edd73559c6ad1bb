import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { redisOptions, type StoreAddress } from './redis-address.js';

/** StoreSettings are a checked `global { store URL { password; prefix; timeout } }`. */
export interface StoreSettings {
  readonly url: string;
  readonly address: StoreAddress;
  readonly password?: string;
  /** ca is a PEM file of certificate authorities to trust for rediss://, instead of the system's. */
  readonly ca?: string;
  /** prefix starts every key gatekit writes (default `gatekit:`), so several sites can share one Redis. */
  readonly prefix: string;
  /** timeout bounds every command, in ms: a store slower than this counts as down for that request. */
  readonly timeout: number;
}

/** StoreLease is one feature's hold on the store connection; the connection closes with the last lease. */
export interface StoreLease {
  /** redis is the process's client: pipelined (commands of one event-loop turn go in one write), reconnecting. */
  readonly redis: Redis;
  readonly prefix: string;
  readonly timeout: number;
  /** ready resolves true once connected, false if that takes longer than `ms`. */
  ready(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

/** SharedStore is the way to `global { store }` in one process: a connection set made by the first feature that asks. */
export interface SharedStore {
  /** settings are the configured store; undefined without `global { store }`. */
  readonly settings: StoreSettings | undefined;
  /** open leases the process's connection, connecting on the first lease; rejects without `global { store }`. */
  open(): Promise<StoreLease>;
}

/** RECONNECT_MAX is the longest pause between two attempts to reach a store that is down. */
const RECONNECT_MAX = 1000;

/** RedisStore is the SharedStore on Redis, through ioredis. */
export class RedisStore implements SharedStore {
  private redis: Promise<Redis> | undefined;
  private leases = 0;

  constructor(
    private readonly read: () => StoreSettings | undefined,
    private readonly log: Logger,
  ) {}

  get settings(): StoreSettings | undefined {
    return this.read();
  }

  async open(): Promise<StoreLease> {
    const s = this.settings;
    if (!s) throw new Error("no 'store' in global");
    const made = (this.redis ??= this.connect(s));
    this.leases++;
    const redis = await made;
    let closed = false;
    return {
      redis,
      prefix: s.prefix,
      timeout: s.timeout,
      ready: (ms) => readyWithin(redis, ms),
      close: async () => {
        if (closed) return;
        closed = true;
        if (--this.leases > 0 || this.redis !== made) return;
        this.redis = undefined;
        redis.disconnect();
      },
    };
  }

  /** connect makes the client: commands fail at once while disconnected and after `timeout`, so none waits longer. */
  private async connect(s: StoreSettings): Promise<Redis> {
    const { Redis } = await import('ioredis'); // loaded by the first feature that uses a store: most sites have none
    const redis = new Redis({
      ...redisOptions(s.address, s.ca ? readFileSync(s.ca) : undefined),
      ...(s.password ? { password: s.password } : {}),
      commandTimeout: s.timeout,
      connectTimeout: Math.max(s.timeout, 1000),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(50 * times, RECONNECT_MAX),
      lazyConnect: false,
    });
    let up = false;
    let lastError = '';
    redis.on('ready', () => {
      up = true;
      lastError = '';
      this.log.info('store: connected', { store: redactedUrl(s.url) });
    });
    redis.on('error', (e: Error) => {
      // ioredis reports every failed reconnection: one line per outage is enough
      if (!up && lastError === e.message) return;
      lastError = e.message;
      this.log.error('store: connection failed; retrying', { store: redactedUrl(s.url), error: e.message });
    });
    redis.on('close', () => {
      if (!up) return;
      up = false;
      this.log.warn('store: connection lost; reconnecting', { store: redactedUrl(s.url) });
    });
    return redis;
  }
}

function readyWithin(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), ms);
    redis.on('ready', onReady);
  });
}

/** redactedUrl is the URL as logs may show it: without a password. */
export function redactedUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}
