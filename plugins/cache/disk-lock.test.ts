import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { FileLocks } from './disk-lock.js';

describe('cache: locks shared by workers (files)', () => {
  let dir: string;
  let a: FileLocks;
  let b: FileLocks;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-locks-'));
    a = new FileLocks(dir, silentLogger);
    b = new FileLocks(dir, silentLogger);
  });
  afterEach(() => {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** only is the one lock file in the folder. */
  const only = (): string => {
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    return join(dir, files[0]);
  };

  it('lets one holder take a key, and wakes a waiter when it lets go', async () => {
    const release = await a.take('k', 5000);
    assert.ok(release);
    assert.equal(await b.take('k', 5000), undefined);
    assert.ok(await b.take('other', 5000));
    const waited = b.wait('k', 5000, 5000);
    await release();
    assert.equal(await waited, true);
    assert.ok(await b.take('k', 5000));
  });

  it('gives up waiting after the timeout while the holder keeps the key', async () => {
    assert.ok(await a.take('k', 60_000));
    assert.equal(await b.wait('k', 60_000, 50), false);
  });

  it("takes over a lock past its age, and the old holder's release leaves the new one alone", async () => {
    const old = await a.take('k', 60_000);
    const past = Date.now() / 1000 - 120;
    utimesSync(only(), past, past);
    assert.equal(await b.wait('k', 60_000, 5000), true);
    const taken = await b.take('k', 60_000);
    assert.ok(taken);
    await old!();
    assert.equal(await a.take('k', 60_000), undefined);
  });

  it('takes over a lock whose process is gone', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    assert.ok(await a.take('k', 60_000));
    writeFileSync(only(), `${hostname()} ${child.pid} 0`);
    assert.ok(await b.take('k', 60_000));
  });
});
