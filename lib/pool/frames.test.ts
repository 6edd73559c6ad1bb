import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { FRAME_HEAD, FrameDecoder, FrameWriter, MAX_CONTROL, type LinkFrameSink } from './frames.js';

const DATA = 0x44;

/** collect is a sink that records frames whole and streamed data as pieces. */
function collect(): LinkFrameSink & { frames: [number, number, string][]; pieces: [number, string][] } {
  const frames: [number, number, string][] = [];
  const pieces: [number, string][] = [];
  return {
    frames,
    pieces,
    frame(kind, id, payload) {
      frames.push([kind, id, payload.toString('latin1')]);
    },
    data(id, piece) {
      pieces.push([id, piece.toString('latin1')]);
    },
  };
}

function encode(kind: number, id: number, payload: string): Buffer {
  const b = Buffer.alloc(FRAME_HEAD + payload.length);
  b[0] = kind;
  b.writeUInt32BE(id, 1);
  b.writeUInt32BE(payload.length, 5);
  b.write(payload, FRAME_HEAD, 'latin1');
  return b;
}

describe('pool link frames', () => {
  it('decodes frames of many streams whatever the chunks, streaming the data kind in pieces', () => {
    const bytes = Buffer.concat([encode(0x48, 1, 'head one'), encode(DATA, 2, 'data of two'), encode(0x46, 1, ''), encode(0x57, 3, 'é whole')]);
    for (let cut = 1; cut <= bytes.length; cut++) {
      const sink = collect();
      const dec = new FrameDecoder(sink, DATA);
      for (let at = 0; at < bytes.length; at += cut) dec.push(bytes.subarray(at, at + cut));
      assert.deepEqual(
        sink.frames,
        [
          [0x48, 1, 'head one'],
          [0x46, 1, ''],
          [0x57, 3, Buffer.from('é whole', 'latin1').toString('latin1')],
        ],
        `chunks of ${cut}`,
      );
      assert.equal(
        sink.pieces
          .map(([id, p]) => {
            assert.equal(id, 2);
            return p;
          })
          .join(''),
        'data of two',
        `chunks of ${cut}`,
      );
    }
  });

  it('refuses a whole frame larger than MAX_CONTROL, but streams data of any size', () => {
    const head = Buffer.alloc(FRAME_HEAD);
    head[0] = 0x53;
    head.writeUInt32BE(MAX_CONTROL + 1, 5);
    assert.throws(() => new FrameDecoder(collect(), DATA).push(head), /too large/);
    head[0] = DATA;
    assert.doesNotThrow(() => new FrameDecoder(collect(), DATA).push(head));
  });

  describe('FrameWriter', () => {
    let server: Server | undefined;
    let client: Socket | undefined;
    afterEach(async () => {
      client?.destroy();
      await new Promise((r) => server?.close(r));
      server = client = undefined;
    });

    /** pair connects a client to a server on 127.0.0.1 and resolves with the server's view and the chunks it reads. */
    const pair = async (): Promise<{ chunks: Buffer[]; next: () => Promise<Buffer> }> => {
      const chunks: Buffer[] = [];
      const waiters: (() => void)[] = [];
      server = createServer((s) =>
        s.on('data', (c: Buffer) => {
          chunks.push(c);
          waiters.splice(0).forEach((w) => w());
        }),
      );
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      client = connect((server.address() as { port: number }).port, '127.0.0.1');
      await new Promise((r) => client!.once('connect', r));
      let read = 0;
      return {
        chunks,
        next: () =>
          new Promise((resolve) => {
            const take = (): void => {
              if (chunks.length > read) resolve(chunks[read++]);
              else waiters.push(take);
            };
            take();
          }),
      };
    };

    it('writes the frames of one event-loop turn in order, small and large payloads alike', async () => {
      const { next } = await pair();
      const w = new FrameWriter(client!);
      const big = Buffer.alloc(10_000, 'x');
      w.text(0x48, 1, 'GET\0/');
      w.frame(0x42, 1, big);
      w.frame(0x45, 1);
      w.text(0x48, 2, 'a'.repeat(70_000)); // past a slab
      let bytes = Buffer.alloc(0);
      const want = FRAME_HEAD * 4 + 5 + 10_000 + 70_000;
      while (bytes.length < want) bytes = Buffer.concat([bytes, await next()]);
      const sink = collect();
      new FrameDecoder(sink, DATA).push(bytes);
      assert.deepEqual(
        sink.frames.map(([k, id, p]) => [k, id, p.length]),
        [
          [0x48, 1, 5],
          [0x42, 1, 10_000],
          [0x45, 1, 0],
          [0x48, 2, 70_000],
        ],
      );
      assert.equal(sink.frames[0][2], 'GET\0/');
    });

    it('starts a new slab when one is full, losing no frame', async () => {
      const { next } = await pair();
      const w = new FrameWriter(client!);
      const sink = collect();
      const dec = new FrameDecoder(sink, DATA);
      for (let round = 0; round < 3; round++) {
        // 3 x 1000 frames of 100 bytes: several slabs of 64 KiB
        for (let id = 1; id <= 1000; id++) w.text(0x48, round * 1000 + id, `${id}`.padEnd(99, '.'), '0\0');
        while (sink.frames.length < (round + 1) * 1000) dec.push(await next());
      }
      assert.deepEqual(
        sink.frames.map(([, id]) => id),
        Array.from({ length: 3000 }, (_, i) => i + 1),
      );
      assert.ok(
        sink.frames.every(([, id, p]) => p === `0\0${`${((id - 1) % 1000) + 1}`.padEnd(99, '.')}`),
        'every payload intact',
      );
    });

    it('sends the small frames of a turn in a single write', async () => {
      const { next } = await pair();
      const w = new FrameWriter(client!);
      for (let id = 1; id <= 3; id++) w.text(0x48, id, `request ${id}`);
      const sink = collect();
      new FrameDecoder(sink, DATA).push(await next());
      assert.deepEqual(
        sink.frames.map(([, id]) => id),
        [1, 2, 3],
        'the first chunk read holds them all',
      );
    });

    it('sends frames queued in separate turns in separate writes, none lost', async () => {
      const { next } = await pair();
      const w = new FrameWriter(client!);
      w.text(0x48, 1, 'one');
      const first = await next();
      w.text(0x48, 2, 'two');
      const second = await next();
      const sink = collect();
      const dec = new FrameDecoder(sink, DATA);
      dec.push(first);
      dec.push(second);
      assert.deepEqual(sink.frames, [
        [0x48, 1, 'one'],
        [0x48, 2, 'two'],
      ]);
    });
  });
});
