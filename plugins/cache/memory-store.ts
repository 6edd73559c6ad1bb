import { Readable } from 'node:stream';
import type { ByteRange, CacheStore, EntryMeta, EntryWriter, StoredEntry } from './store.js';

/** HEAD_COST is what an entry's head is counted as, besides its body (a rough size of its meta). */
const HEAD_COST = 512;

interface Held {
  readonly meta: EntryMeta;
  readonly body: Buffer;
  /** entry is what get and peek answer, made once per stored entry. */
  readonly entry: StoredEntry;
  /** at is the count of moves to the newest end when this entry last made one. */
  at: number;
}

/**
 * MemoryStore keeps entries in this worker's memory, least recently used first out once
 * their bodies and heads pass `maxSize` bytes. A Map's order is its recency: a hit moves
 * the entry to the end, once it is in the older half (see peek).
 */
export class MemoryStore implements CacheStore {
  private readonly entries = new Map<string, Held>();
  private used = 0;
  /** moves counts the entries put or moved to the newest end. */
  private moves = 0;

  constructor(private readonly maxSize: number) {}

  get(key: string): Promise<StoredEntry | undefined> {
    return Promise.resolve(this.peek(key));
  }

  peek(key: string): StoredEntry | undefined {
    const held = this.entries.get(key);
    if (!held) return undefined;
    // Only an entry that fell to the older half moves: eviction still takes entries not used
    // lately first, and a hit of one used lately (most hits) writes nothing to the map.
    if (this.moves - held.at > this.entries.size >> 1) {
      this.entries.delete(key);
      this.entries.set(key, held);
      held.at = ++this.moves;
    }
    return held.entry;
  }

  open(meta: Omit<EntryMeta, 'size'>): EntryWriter {
    const chunks: Buffer[] = [];
    let dropped = false;
    return {
      write: (chunk) => {
        chunks.push(chunk);
      },
      commit: () => {
        if (!dropped) this.put({ ...meta, size: 0 }, Buffer.concat(chunks));
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
    if (held) this.put(meta, held.body);
    return Promise.resolve();
  }

  purge(key: string, prefix: boolean): Promise<number> {
    let n = 0;
    for (const k of [...this.entries.keys()]) {
      if (prefix ? k.startsWith(key) : k === key) {
        this.remove(k);
        n++;
      }
    }
    return Promise.resolve(n);
  }

  close(): Promise<void> {
    this.entries.clear();
    this.used = 0;
    return Promise.resolve();
  }

  private put(stored: EntryMeta, body: Buffer): void {
    const cost = body.length + HEAD_COST;
    if (cost > this.maxSize) return;
    const meta = { ...stored, size: body.length };
    this.remove(meta.key);
    this.entries.set(meta.key, { meta, body, entry: entryOf(meta, body), at: ++this.moves });
    this.used += cost;
    for (const k of this.entries.keys()) {
      if (this.used <= this.maxSize) break;
      this.remove(k);
    }
  }

  private remove(key: string): void {
    const held = this.entries.get(key);
    if (!held) return;
    this.entries.delete(key);
    this.used -= held.body.length + HEAD_COST;
  }
}

function entryOf(meta: EntryMeta, body: Buffer): StoredEntry {
  return {
    meta,
    body,
    stream: (range?: ByteRange) => Readable.from([range ? body.subarray(range.start, range.end + 1) : body]),
  };
}
