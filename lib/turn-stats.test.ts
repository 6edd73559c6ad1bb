import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TurnStats } from './turn-stats.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TurnStats', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-turnstats-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stats a path once per turn, and sees a change in the next turn', async () => {
    const file = join(dir, 'a.txt');
    writeFileSync(file, 'one');
    const stats = new TurnStats();
    const first = stats.stat(file);
    writeFileSync(file, 'three');
    assert.equal(stats.stat(file), first, 'the same turn shares one stat');
    await nextTurn();
    assert.equal(stats.stat(file)?.size, 5);
    assert.equal(stats.stat(join(dir, 'missing')), undefined);
  });

  it('forgets what was remembered when the turn ends, the last recalled entry included', async () => {
    const file = join(dir, 'b.txt');
    writeFileSync(file, 'b');
    const stats = new TurnStats<string>();
    stats.stat(file);
    stats.remember('/b.txt', 'v1');
    assert.equal(stats.recall('/b.txt'), 'v1');
    assert.equal(stats.recall(`/b${'.txt'}`), 'v1', 'an equal key string made apart');
    stats.remember('/b.txt', 'v2');
    assert.equal(stats.recall('/b.txt'), 'v2', 'a newer conclusion replaces the last recalled one');
    await nextTurn();
    assert.equal(stats.recall('/b.txt'), undefined);
    stats.remember('/b.txt', 'v3');
    assert.equal(stats.recall('/b.txt'), undefined, 'nothing is remembered without a stat this turn');
  });
});
