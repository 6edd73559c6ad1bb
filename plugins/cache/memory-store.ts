import { RecentMap } from './recent-map.js';
import { entryMeta, HEAD_COST, wholeEntry, type CacheStore, type EntryMeta, type EntryWriter, type StoredEntry } from './store.js';

/**
 * MemoryStore keeps entries in this worker's memory, least recently used first out once
 * their bodies and heads pass `maxSize` bytes (see RecentMap).
 */
export class MemoryStore implements CacheStore {
  /** entries are what get and peek answer, made once per stored entry. */
  private readonly entries: RecentMap<StoredEntry>;

  constructor(maxSize: number) {
    this.entries = new RecentMap(maxSize);
  }

  get(key: string): Promise<StoredEntry | undefined> {
    return Promise.resolve(this.peek(key));
  }

  peek(key: string): StoredEntry | undefined {
    return this.entries.get(key);
  }

  open(meta: Omit<EntryMeta, 'size'>): EntryWriter {
    const chunks: Buffer[] = [];
    let dropped = false;
    return {
      write: (chunk) => {
        chunks.push(chunk);
      },
      commit: () => {
        if (!dropped) this.put(meta, Buffer.concat(chunks));
        return Promise.resolve();
      },
      abort: () => {
        dropped = true;
        chunks.length = 0;
      },
    };
  }

  update(meta: EntryMeta): Promise<void> {
    const held = this.entries.get(meta.key);
    if (held?.body) this.put(meta, held.body);
    return Promise.resolve();
  }

  purge(key: string, prefix: boolean): Promise<number> {
    let n = 0;
    for (const k of [...this.entries.keys()]) if ((prefix ? k.startsWith(key) : k === key) && this.entries.delete(k)) n++;
    return Promise.resolve(n);
  }

  close(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }

  private put(stored: Omit<EntryMeta, 'size'>, body: Buffer): void {
    const meta = entryMeta(stored, body.length);
    this.entries.set(meta.key, wholeEntry(meta, body), body.length + HEAD_COST);
  }
}
