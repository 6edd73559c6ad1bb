import assert from 'node:assert/strict';
import { TimedList, type Timed } from './timed.js';

const item = (name: string): Timed & { name: string } => ({ name, due: 0, prevTimed: undefined, nextTimed: undefined, timedIn: undefined });

describe('TimedList', () => {
  it('expires items in the order they came, once each, with one timer', async () => {
    const expired: string[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => {
      done = r;
    });
    const list = new TimedList((i) => {
      expired.push((i as Timed & { name: string }).name);
      if (expired.length === 2) done();
    });
    const [a, b, c] = [item('a'), item('b'), item('c')];
    list.add(a, 20);
    list.add(b, 20);
    list.add(c, 20);
    list.remove(b);
    await all;
    assert.deepEqual(expired, ['a', 'c']);
    assert.ok(list.empty);
    assert.equal(a.timedIn, undefined);
  });

  it('puts an item back first with its own due time, and moves an item between lists', () => {
    const one = new TimedList(() => {});
    const two = new TimedList(() => {});
    const [a, b] = [item('a'), item('b')];
    one.add(a, 1000);
    one.add(b, 1000);
    two.add(a, 1000); // leaves `one`
    assert.equal(one.head, b);
    one.unshift(a, b.due - 1);
    assert.equal(one.head, a);
    assert.ok(two.empty);
    one.close();
    two.close();
  });
});
