import { createHmac, randomBytes } from 'node:crypto';

/** REMEMBER_FOR is how long a successful check is remembered: a browser sends its credentials with every request. */
export const REMEMBER_FOR = 60_000;
const MAX_ENTRIES = 1024;

// Per process: a key learnt from one process's memory is worth nothing to another, or after a restart.
const SECRET = randomBytes(32);

/**
 * RecentSuccesses remembers user and password pairs that passed a check, for REMEMBER_FOR,
 * so that a slow hash is paid once a minute per user, not per request. It holds only an
 * HMAC of each pair under a per-process random key, never the password, and never a
 * failure: a wrong guess costs a full check every time. The oldest entries go first.
 */
export class RecentSuccesses {
  private readonly until = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** key is the HMAC-SHA-256 of a user and password pair. */
  key(user: string, password: string): string {
    return createHmac('sha256', SECRET).update(user).update('\0').update(password).digest('base64');
  }

  /** has tells whether `key` passed a check less than REMEMBER_FOR ago. */
  has(key: string): boolean {
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.until.delete(key);
    return false;
  }

  /** add remembers a pair that passed. */
  add(key: string): void {
    this.until.delete(key); // re-inserted last: the Map's order is the order of expiry
    this.until.set(key, this.now() + REMEMBER_FOR);
    if (this.until.size > MAX_ENTRIES) this.until.delete(this.until.keys().next().value!);
  }
}
