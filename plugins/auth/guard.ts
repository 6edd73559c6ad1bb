/** SWEEP_AT is the number of remembered clients past which expired ones are swept out. */
const SWEEP_AT = 10_000;

/**
 * FailureGuard counts failed attempts per client (in this worker). A client that reaches
 * `max` failures is refused until `cooldown` has passed since its last failure; a success
 * forgets its count. Memory stays bounded: expired entries are swept as clients come.
 */
export class FailureGuard {
  private readonly clients = new Map<string, { count: number; until: number }>();

  constructor(
    private readonly max: number,
    private readonly cooldown: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** retryAfter returns the seconds a blocked client must wait, or undefined when it may try. */
  retryAfter(client: string): number | undefined {
    if (this.max === 0) return undefined;
    const e = this.clients.get(client);
    if (!e) return undefined;
    const left = e.until - this.now();
    if (left <= 0) {
      this.clients.delete(client);
      return undefined;
    }
    return e.count >= this.max ? Math.ceil(left / 1000) : undefined;
  }

  /** fail records a failed attempt. */
  fail(client: string): void {
    if (this.max === 0) return;
    const now = this.now();
    const e = this.clients.get(client);
    if (e && e.until > now) {
      e.count++;
      e.until = now + this.cooldown;
    } else this.clients.set(client, { count: 1, until: now + this.cooldown });
    if (this.clients.size > SWEEP_AT) for (const [k, v] of this.clients) if (v.until <= now) this.clients.delete(k);
  }

  /** succeed forgets a client's failures. */
  succeed(client: string): void {
    if (this.clients.size) this.clients.delete(client);
  }
}
