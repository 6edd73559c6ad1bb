import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../core/logger.js';
import { FIRST_READ } from './disk-entry.js';
import { DiskStore } from './disk-store.js';
import type { EntryMeta, StoredEntry } from './store.js';

/** Two stores on one folder stand for two workers: each has its own index and view of the generation. */
describe('cache: the disk store index, shared by workers', () => {
  let dir: string;
  let a: DiskStore;
  let b: DiskStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-disk-'));
    a = new DiskStore(dir, 1 << 30, silentLogger);
    b = new DiskStore(dir, 1 << 30, silentLogger);
    await Promise.all([a.start(), b.start()]);
  });
  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (store: DiskStore, key: string, body: Buffer | string): Promise<void> => {
    const meta: Omit<EntryMeta, 'size'> = { key, status: 200, headers: {}, policy: {} as EntryMeta['policy'] };
    const w = store.open(meta);
    w.write(Buffer.from(body));
    return w.commit();
  };
  const text = async (entry: StoredEntry | undefined): Promise<string | undefined> => {
    if (!entry) return undefined;
    if (entry.body) return entry.body.toString();
    const chunks: Buffer[] = [];
    for await (const c of entry.stream()) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };
  /** entryFiles are the entry files in the folder (not its generation, locks or temporary files). */
  const entryFiles = (): string[] =>
    readdirSync(dir)
      .filter((d) => /^[0-9a-f]{2}$/.test(d))
      .flatMap((d) => readdirSync(join(dir, d)).map((f) => join(dir, d, f)));

  it("answers from its index, and sees another worker's new entry and purge from its next turn", async () => {
    await put(a, 'k', 'v1');
    assert.equal(await text(await b.get('k')), 'v1');
    assert.equal(await text(b.peek('k')), 'v1', 'held in the index');
    await put(a, 'k', 'v2');
    await nextTurn();
    assert.equal(b.peek('k'), undefined, 'the index lets go of an entry replaced by another worker');
    assert.equal(await text(await b.get('k')), 'v2');
    assert.equal(await a.purge('k', false), 1);
    await nextTurn();
    assert.equal(b.peek('k'), undefined);
    assert.equal(await b.get('k'), undefined);
  });

  it('keeps the head of a large entry and streams its body from the file', async () => {
    const big = 'x'.repeat(FIRST_READ + 10);
    await put(a, 'big', big);
    assert.equal(await text(await b.get('big')), big);
    const held = b.peek('big');
    assert.equal(held?.body, undefined);
    assert.equal(held?.meta.size, big.length);
    assert.equal(await text(held), big);
  });

  it('sees an entry removed by hand, which the generation does not count, within a second', async () => {
    await put(a, 'k', 'v1');
    assert.equal(await text(await b.get('k')), 'v1');
    for (const f of entryFiles()) unlinkSync(f);
    const until = Date.now() + 5000;
    while (b.peek('k') !== undefined) {
      assert.ok(Date.now() < until, 'the index still answers for a removed file');
      await sleep(50);
    }
    assert.equal(await b.get('k'), undefined);
  });
});
