import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGate, type TestGate } from '../helpers/gate.js';
import { FRAME, frame, getBlock, RawH2 } from '../helpers/h2-frames.js';

const END_STREAM = 0x1;

describe('HTTP/2: a body given whole', () => {
  let gate: TestGate | undefined;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gk-h2whole-'));
    writeFileSync(join(dir, 'page.html'), 'p'.repeat(1024));
    utimesSync(join(dir, 'page.html'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000)); // settled: kept in memory
    gate = await startGate(`server { listen 127.0.0.1:0 h2c; route /files/ { static "${dir}" }; respond "whole" }`);
  });
  after(async () => {
    await gate?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** framesOf asks for `path` on a raw connection and returns its stream's frames once the stream ended. */
  async function framesOf(path: string): Promise<RawH2['frames']> {
    const c = await RawH2.open(gate!.port);
    try {
      c.send(frame(FRAME.headers, 0x5, 1, getBlock(path)));
      await c.until((f) => f.stream === 1 && (f.flags & END_STREAM) !== 0);
      return c.frames.filter((f) => f.stream === 1);
    } finally {
      c.close();
    }
  }

  for (const [what, path, body] of [
    ['a static file from memory', '/files/page.html', 'p'.repeat(1024)],
    ['respond', '/', 'whole'],
  ] as const) {
    it(`${what}: one HEADERS frame, then one DATA frame that carries it all and ends the stream`, async () => {
      await framesOf(path); // the first one reads a file from disk, and keeps it in memory for the next
      const frames = await framesOf(path);
      assert.deepEqual(
        frames.map((f) => [f.type, f.flags & END_STREAM]),
        [
          [FRAME.headers, 0],
          [FRAME.data, END_STREAM],
        ],
      );
      assert.equal(frames[1].payload.toString(), body);
    });
  }
});
