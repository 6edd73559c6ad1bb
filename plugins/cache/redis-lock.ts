import { randomBytes } from 'node:crypto';
import type { StoreLease } from '../../core/index.js';
import type { Release, SharedLocks } from './store.js';

/** POLL_FIRST and POLL_MAX bound the pauses of a waiter between two looks at a lock: short first, doubling. */
const POLL_FIRST = 5;
const POLL_MAX = 100;
/** RELEASE deletes a lock only while it is still the caller's (its token), not one taken over since. */
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/**
 * RedisLocks are SharedLocks in the global store, across every instance: SET NX PX takes a
 * lock that Redis drops after its age; a waiter looks again after pauses that grow to
 * POLL_MAX. While Redis does not answer, every caller takes: each instance locks alone.
 */
export class RedisLocks implements SharedLocks {
  constructor(private readonly lease: StoreLease) {}

  async take(name: string, age: number): Promise<Release | undefined> {
    const key = this.keyOf(name);
    const token = randomBytes(9).toString('base64');
    try {
      if ((await this.lease.redis.set(key, token, 'PX', Math.max(1, Math.ceil(age)), 'NX')) !== 'OK') return undefined;
    } catch {
      return () => {}; // the store's outage is logged by the entries' commands
    }
    return () => {
      void this.lease.redis.eval(RELEASE, 1, key, token).catch(() => {});
    };
  }

  async wait(name: string, _age: number, timeout: number): Promise<boolean> {
    const key = this.keyOf(name);
    const end = performance.now() + timeout;
    for (let pause = POLL_FIRST; ; pause = Math.min(pause * 2, POLL_MAX)) {
      try {
        if (!(await this.lease.redis.exists(key))) return true;
      } catch {
        return true;
      }
      const left = end - performance.now();
      if (left <= 0) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
    }
  }

  close(): void {}

  private keyOf(name: string): string {
    return `${this.lease.prefix}cache-lock:${name}`;
  }
}
