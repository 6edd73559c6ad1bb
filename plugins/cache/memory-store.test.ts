import assert from 'node:assert/strict';
import { MemoryStore } from './memory-store.js';
import type { EntryMeta } from './store.js';

describe('cache: the memory store', () => {
  const BODY = Buffer.alloc(100, 'x');
  /** room is a store with room for `n` entries of BODY (a head counts 512 bytes). */
  const room = (n: number): MemoryStore => new MemoryStore(n * (BODY.length + 512));
  const put = (store: MemoryStore, key: string): Promise<void> => {
    const meta: Omit<EntryMeta, 'size'> = { key, status: 200, headers: {}, policy: {} as EntryMeta['policy'] };
    const w = store.open(meta);
    w.write(BODY);
    return w.commit();
  };
  /** gone are the keys of `keys` the store no longer holds (looking up a missing key moves nothing). */
  const gone = (store: MemoryStore, keys: string[]): string[] => keys.filter((k) => store.peek(k) === undefined);

  it('lets the least recently used entries go past max_size, and keeps one that is hit', async () => {
    const store = room(4);
    for (const k of ['a', 'b', 'c', 'd']) await put(store, k);
    assert.equal(store.peek('a')?.body?.length, BODY.length);
    await put(store, 'e');
    await put(store, 'f');
    assert.deepEqual(gone(store, ['a', 'b', 'c', 'd', 'e', 'f']), ['b', 'c']);
  });

  it('answers a hit of an entry used lately as any other, and drops it on purge', async () => {
    const store = room(4);
    await put(store, 'a');
    for (let i = 0; i < 3; i++) assert.equal(store.peek('a')?.meta.key, 'a');
    assert.equal(await store.purge('a', false), 1);
    assert.deepEqual(gone(store, ['a']), ['a']);
  });
});
