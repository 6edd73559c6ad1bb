import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startGate, type TestGate } from '../helpers/gate.js';
import { upstream, type TestUpstream } from './proxy-upstreams.js';

const TOTAL = Number(process.env.GK_PROXY_STREAM_MIB ?? 256) * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 'z');

/** RssWatch samples the process's resident memory while a transfer runs. */
class RssWatch {
  readonly base = process.memoryUsage.rss();
  peak = this.base;
  private readonly timer = setInterval(() => {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }, 20);
  stop(): number {
    clearInterval(this.timer);
    return this.peak - this.base;
  }
}

/** produce writes `total` bytes to `out`, honouring backpressure, then ends it. */
function produce(out: NodeJS.WritableStream, total: number): void {
  let left = total;
  const more = (): void => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!out.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        out.once('drain', more);
        return;
      }
    }
    out.end();
  };
  more();
}

const MiB = 1024 * 1024;

/** download reads `size` bytes through the gate and counts them. */
function download(port: number, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/big', agent: false, headers: { 'x-size': size } }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
      });
      res.on('end', () => resolve(n));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('proxy: streaming in bounded memory', function () {
  this.timeout(60_000);
  let gate: TestGate | undefined;
  let up: TestUpstream | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await up?.close();
    up = undefined;
  });

  it(`passes a ${TOTAL / MiB} MiB download through without buffering it`, async () => {
    up = await upstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      produce(res, Number(req.headers['x-size']));
    });
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${up.url} }`);
    assert.equal(await download(gate.port, 16 * MiB), 16 * MiB); // warm up: buffers, JIT, heap
    const watch = new RssWatch();
    const got = await download(gate.port, TOTAL);
    const growth = watch.stop();
    if (process.env.GK_DEBUG_RSS) console.log(`rss growth ${(growth / MiB).toFixed(1)} MiB`);
    assert.equal(got, TOTAL);
    assert.ok(growth < 64 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it(`passes a ${TOTAL / MiB} MiB upload through without buffering it`, async () => {
    up = await upstream((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
      });
      req.on('end', () => res.end(String(n)));
    });
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${up.url} }`);
    const watch = new RssWatch();
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gate!.port, method: 'POST', path: '/upload', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      produce(req, TOTAL);
    });
    const growth = watch.stop();
    if (process.env.GK_DEBUG_RSS) console.log(`rss growth ${(growth / MiB).toFixed(1)} MiB`);
    assert.equal(answer, String(TOTAL));
    assert.ok(growth < 64 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });
});
