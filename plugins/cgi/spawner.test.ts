import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { textFrame } from '../../lib/index.js';
import { HELPER_PY } from './spawner.js';

/** frame is a request to the helper: a pool frame of kind A, with JSON. */
function frame(ask: object): Buffer {
  return textFrame(0x41, JSON.stringify(ask));
}

/** kinds are the kinds of the records a helper has written so far ('R', 'S', ...). */
function kinds(out: Buffer): string[] {
  const got: string[] = [];
  for (let at = 0; at + 5 <= out.length; at += 5 + out.readUInt32BE(at + 1)) got.push(String.fromCharCode(out[at]));
  return got;
}

async function until(test: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!test() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return test();
}

describe('gatekit_spawner.py', () => {
  let dir: string;
  let helper: ChildProcess | undefined;
  let out = Buffer.alloc(0);
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-spawner-test-'));
    out = Buffer.alloc(0);
    helper = spawn('python3', ['-I', '-S', HELPER_PY, join(dir, 's.sock'), String(process.pid)], { stdio: ['pipe', 'pipe', 'inherit'] });
    helper.stdout!.on('data', (b: Buffer) => {
      out = Buffer.concat([out, b]);
    });
    assert.ok(await until(() => kinds(out).includes('R')), 'the helper is ready');
  });
  afterEach(async () => {
    helper?.stdin!.end();
    if (helper && helper.exitCode === null) await new Promise((r) => helper!.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs what its parent asks, and nothing another process asks', async () => {
    const marker = join(dir, 'marker');
    const ask = frame({ id: 7, argv: ['/usr/bin/touch', marker], env: {}, cwd: dir, stdin: false });
    const stranger = spawn(process.execPath, [
      '-e',
      `
      const s = require('net').connect(process.argv[1]);
      s.write(Buffer.from(process.argv[2], 'base64')); s.on('data', () => {}); s.on('error', () => {});
      s.on('close', () => process.exit(0)); setTimeout(() => process.exit(3), 3000);`,
      join(dir, 's.sock'),
      ask.toString('base64'),
    ]);
    assert.equal(await new Promise((r) => stranger.once('exit', r)), 0, 'the helper closed the connection');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(kinds(out), ['R']);
    assert.equal(existsSync(marker), false, 'the command never ran');

    const mine = connect(join(dir, 's.sock'));
    mine.on('data', () => {});
    mine.write(ask);
    assert.ok(await until(() => kinds(out).includes('X')), `records so far: ${kinds(out).join(' ')}`);
    assert.equal(kinds(out)[1], 'S', 'it started');
    assert.equal(existsSync(marker), true);
    mine.destroy();
  });

  it('exits when its stdin closes', async () => {
    helper!.stdin!.end();
    const code = await new Promise((r) => helper!.once('exit', r));
    assert.equal(code, 0);
  });
});
