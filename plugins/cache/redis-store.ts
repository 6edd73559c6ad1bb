import CachePolicy from 'http-cache-semantics';
import type { Logger, StoreLease } from '../../core/index.js';
import { RedisLocks } from './redis-lock.js';
import { entryMeta, wholeEntry, type CacheStore, type EntryMeta, type EntryWriter, type StoredEntry } from './store.js';

/** INACTIVE: an entry stays this long past its freshness and stale windows, for revalidation (Nginx's `inactive` default). */
const INACTIVE = 10 * 60_000;

/**
 * RedisCacheStore keeps entries in the global store, shared by every instance that uses it:
 * each entry is one hash (meta as JSON, body as bytes) that expires INACTIVE after its
 * freshness and stale windows (`keep`); Redis's own maxmemory policy bounds the total.
 * Bodies larger than `maxEntry` go to `overflow` (this machine's disk store) when there is
 * one, else pass uncached. A store that fails or is slower than its timeout answers as an
 * empty one (a miss), with one log line per outage.
 */
export class RedisCacheStore implements CacheStore {
  private failing = false;
  /** locks are shared by every instance, in Redis. */
  readonly locks: RedisLocks;

  constructor(
    private readonly lease: StoreLease,
    private readonly maxEntry: number,
    private readonly keep: number,
    private readonly log: Logger,
    private readonly overflow?: CacheStore,
  ) {
    this.locks = new RedisLocks(lease);
  }

  async get(key: string): Promise<StoredEntry | undefined> {
    try {
      const [meta, body] = await this.lease.redis.hmgetBuffer(this.keyOf(key), 'meta', 'body');
      this.answered();
      if (meta && body) return wholeEntry(JSON.parse(meta.toString()) as EntryMeta, body);
    } catch (e) {
      this.unanswered(e as Error);
    }
    return this.overflow?.get(key);
  }

  open(meta: Omit<EntryMeta, 'size'>): EntryWriter {
    let chunks: Buffer[] | undefined = [];
    let size = 0;
    let spill: EntryWriter | undefined;
    return {
      write: (chunk) => {
        if (spill) {
          spill.write(chunk);
          return;
        }
        if (!chunks) return;
        size += chunk.length;
        chunks.push(chunk);
        if (size <= this.maxEntry) return;
        spill = this.overflow?.open(meta); // too large for Redis: this machine's disk, or nowhere
        for (const c of chunks) spill?.write(c);
        chunks = undefined;
      },
      commit: async () => {
        if (spill) return spill.commit();
        if (chunks) await this.put(entryMeta(meta, size), Buffer.concat(chunks, size));
      },
      abort: () => {
        chunks = undefined;
        spill?.abort();
      },
    };
  }

  async update(meta: EntryMeta): Promise<void> {
    const k = this.keyOf(meta.key);
    try {
      // only an entry still there: a body-less hash would be a broken entry
      await this.lease.redis.eval(
        "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'meta', ARGV[1]); redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
        1,
        k,
        JSON.stringify(meta),
        this.ttlOf(meta),
      );
      this.answered();
    } catch (e) {
      this.unanswered(e as Error);
    }
    await this.overflow?.update(meta);
  }

  async purge(key: string, prefix: boolean): Promise<number> {
    let n = 0;
    try {
      if (!prefix) n = await this.lease.redis.unlink(this.keyOf(key));
      else {
        for await (const keys of this.lease.redis.scanStream({ match: `${globEscaped(this.keyOf(key))}*`, count: 500 }) as AsyncIterable<string[]>) {
          if (keys.length) n += await this.lease.redis.unlink(...keys);
        }
      }
      this.answered();
    } catch (e) {
      this.unanswered(e as Error);
    }
    return n + ((await this.overflow?.purge(key, prefix)) ?? 0);
  }

  async close(): Promise<void> {
    await this.overflow?.close();
    await this.lease.close();
  }

  private async put(meta: EntryMeta, body: Buffer): Promise<void> {
    const k = this.keyOf(meta.key);
    try {
      await this.lease.redis.multi().hset(k, 'meta', JSON.stringify(meta), 'body', body).pexpire(k, this.ttlOf(meta)).exec();
      this.answered();
    } catch (e) {
      this.unanswered(e as Error);
    }
  }

  private keyOf(key: string): string {
    return `${this.lease.prefix}cache:${key}`;
  }

  /** ttlOf is how long Redis keeps an entry: its freshness left, the stale windows, then INACTIVE. */
  private ttlOf(meta: EntryMeta): number {
    const fresh = CachePolicy.fromObject(meta.policy).timeToLive();
    return Math.max(0, fresh) + this.keep + INACTIVE;
  }

  private answered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.log.info('cache: the store answers again');
  }

  private unanswered(e: Error): void {
    if (this.failing) return;
    this.failing = true;
    this.log.error('cache: the store did not answer; answering as a miss until it does', { error: e.message });
  }
}

/** globEscaped escapes the characters SCAN's MATCH reads as a pattern. */
function globEscaped(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
