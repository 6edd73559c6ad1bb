import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createGunzip, gunzipSync } from 'node:zlib';
import { arg, directive, injectable, type Ctx, type Plugin, type Sent, type AnyUnit } from '../../core/index.js';
import { pipelineOf } from '../../core/response.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { rawRequest } from '../helpers/raw-http.js';
import { CGI_FILE, cgiConfig } from './cgi-fixtures.js';
import { httpGet, MwTestPlugin, noiseText, openSocket, streamText } from './mw-fixtures.js';

/** recorded emits ('sent', path, record) as each response's record becomes final, for `record`. */
const recorded = new EventEmitter();
/** buffered is the most a `noise_body` response held, in its filters' streams and its connection's buffers, at any write. */
let buffered = 0;

const upper = (): Transform => new Transform({ transform: (c: Buffer, _e, cb) => cb(null, Buffer.from(c.toString('latin1').toUpperCase(), 'latin1')) });

/** PipePlugin: middleware and handlers that use the response pipeline as a third-party plugin would. */
@injectable()
class PipePlugin implements Plugin {
  readonly name = 'pipe';
  readonly directives = [
    directive({ name: 'mark', kind: 'middleware', doc: 'Append NAME to X-Marks as the head goes out', schema: { args: [arg.string('name')] } }),
    directive({ name: 'upper', kind: 'middleware', doc: 'Upper-case the body (a streamed filter)', schema: {} }),
    directive({
      name: 'suffix',
      kind: 'middleware',
      doc: 'Add TEXT after the body (a filter that also takes whole bodies)',
      schema: { args: [arg.string('text')] },
    }),
    directive({ name: 'record', kind: 'middleware', doc: 'Emit ctx.sent once final', schema: {} }),
    directive({ name: 'whole_body', kind: 'handler', doc: 'Answer BYTES of JSON-ish text given whole to end()', schema: { args: [arg.size('bytes')] } }),
    directive({
      name: 'noise_body',
      kind: 'handler',
      doc: 'Stream BYTES of noise, noting how much the connection buffered',
      schema: { args: [arg.size('bytes')] },
    }),
    directive({ name: 'late_hook', kind: 'handler', doc: 'Add a head hook after the head went out', schema: {} }),
  ];

  create(d: string, config: unknown): AnyUnit {
    const c = config as { name: string; text: string; bytes: number };
    switch (d) {
      case 'mark':
        return {
          handle: (ctx, next) => {
            ctx.onHead((h) => {
              h.setHeader('x-marks', `${h.getHeader('x-marks') ?? ''} ${c.name}`.trim());
            });
            return next();
          },
        };
      case 'upper':
        return {
          handle: (ctx, next) => {
            ctx.filterBody(() => ({ stream: upper }));
            return next();
          },
        };
      case 'suffix':
        return {
          handle: (ctx, next) => {
            ctx.filterBody((h) => suffix(h, c.text));
            return next();
          },
        };
      case 'record':
        return {
          handle: (ctx, next) => {
            ctx.onSent((s) => recorded.emit('sent', ctx.path, snapshot(s)));
            return next();
          },
        };
      case 'whole_body':
        return {
          handle: (ctx) => {
            ctx.res.setHeader('x-marks', 'handler');
            return ctx.send(200, streamText(c.bytes), { 'content-type': 'application/json' });
          },
        };
      case 'noise_body':
        return { handle: (ctx) => noiseBody(ctx, c.bytes) };
      default:
        return { handle: (ctx) => lateHook(ctx) };
    }
  }
}

function suffix(h: { removeHeader(n: string): void }, text: string): { stream(): Transform; whole(b: Buffer): Buffer } {
  h.removeHeader('content-length');
  const tail = Buffer.from(text);
  return {
    stream: () => new Transform({ transform: (chunk: Buffer, _e, cb) => cb(null, chunk), flush: (cb) => cb(null, tail) }),
    whole: (body) => Buffer.concat([body, tail]),
  };
}

const snapshot = (s: Sent): Sent => ({ ...pick(s) });
function pick(s: Sent): Sent {
  const { status, headerBytes, bodyBytes, firstByteMs, totalMs, clientLeft, upgraded, done } = s;
  return { status, headerBytes, bodyBytes, firstByteMs, totalMs, clientLeft, upgraded, done };
}

async function noiseBody(ctx: Ctx, bytes: number): Promise<void> {
  const res = ctx.res;
  const body = noiseText(bytes);
  const held = (): number => (pipelineOf(res)?.held ?? 0) + res.writableLength;
  buffered = 0;
  res.writeHead(200, { 'content-type': 'text/plain' });
  for (let i = 0; i < bytes; i += 64 * 1024) {
    const ok = res.write(body.subarray(i, i + 64 * 1024));
    buffered = Math.max(buffered, held());
    if (!ok) await once(res, 'drain');
    buffered = Math.max(buffered, held());
  }
  await new Promise<void>((resolve) => res.end(resolve));
}

function lateHook(ctx: Ctx): Promise<void> {
  ctx.res.writeHead(200, { 'content-type': 'text/plain' });
  let code = 'none';
  try {
    ctx.onHead(() => {});
  } catch (e) {
    code = (e as { code: string }).code;
  }
  return new Promise((resolve) => ctx.res.end(code, resolve));
}

/** liveBuffers returns a function that collects garbage and tells how many bytes the process's buffers hold. */
function liveBuffers(): () => number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    return process.memoryUsage().arrayBuffers;
  };
}

/**
 * readSlowly gets a gzipped body as a slow reader would, the connection draining a little at a
 * time (which is when a filter without backpressure of its own piles up the body), and
 * returns the decoded body's length and digest (holding none of it); `each` runs at every pause.
 */
async function readSlowly(url: string, each: () => void = () => {}): Promise<{ length: number; sha256: string }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request(url, { headers: { 'accept-encoding': 'gzip' }, agent: false }, resolve)
      .on('error', reject)
      .end();
  });
  const gunzip = createGunzip();
  const hash = createHash('sha256');
  let length = 0;
  gunzip.on('data', (c: Buffer) => {
    hash.update(c);
    length += c.length;
  });
  let since = 0;
  res.on('data', (c: Buffer) => {
    since += c.length;
    if (since < 512 * 1024) return;
    since = 0;
    each();
    res.pause();
    setTimeout(() => res.resume(), 5);
  });
  res.pipe(gunzip);
  await once(gunzip, 'end');
  return { length, sha256: hash.digest('hex') };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** nextRecord waits for the record of the next response to `path` to become final. */
function nextRecord(path: string): Promise<Sent> {
  return new Promise((resolve) => {
    const on = (p: string, s: Sent): void => {
      if (p === path) {
        recorded.off('sent', on);
        resolve(s);
      }
    };
    recorded.on('sent', on);
  });
}

const plugins = [PipePlugin, MwTestPlugin];

describe('response pipeline', () => {
  let gate: TestGate | undefined;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-pipeline-'));
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the same head and body, and logs $bytes as the body bytes on the wire, whichever order log and compress are written in', async () => {
    const log = (name: string): string => `log { format "$status $bytes"; to ${dir}/${name}.log }`;
    gate = await startGate(
      `server { listen 127.0.0.1:0
      route /log-first/stream { ${log('a')}; compress; stream_body 100KB 16KB }
      route /compress-first/stream { compress; ${log('b')}; stream_body 100KB 16KB }
      route /log-first/whole { ${log('c')}; compress; whole_body 100KB }
      route /compress-first/whole { compress; ${log('d')}; whole_body 100KB }
    }`,
      { plugins },
    );
    const expected: Record<string, string> = {};
    for (const [kind, a, b] of [
      ['stream', 'a', 'b'],
      ['whole', 'c', 'd'],
    ]) {
      const first = await httpGet(gate.url(`/log-first/${kind}`), { 'accept-encoding': 'gzip' });
      const second = await httpGet(gate.url(`/compress-first/${kind}`), { 'accept-encoding': 'gzip' });
      const head = (r: typeof first): unknown => ({ ...r.headers, date: undefined });
      assert.deepEqual(head(second), head(first), `${kind}: the same head`);
      assert.equal(first.headers['content-encoding'], 'gzip');
      assert.ok(second.body.equals(first.body), `${kind}: the same body`);
      assert.ok(gunzipSync(first.body).equals(streamText(100 * 1024)));
      expected[a] = expected[b] = `200 ${first.body.length}\n`;
    }
    await gate.close(); // flushes the logs
    gate = undefined;
    for (const [name, line] of Object.entries(expected)) assert.equal(readFileSync(join(dir, `${name}.log`), 'utf8'), line, `log ${name}`);
  });

  it('runs head hooks innermost first, so each sees what the handler and the hooks inside it set', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; mark outer; route / { mark inner; whole_body 10B } }', { plugins });
    const res = await fetch(gate.url('/'));
    assert.equal(res.headers.get('x-marks'), 'handler inner outer');
  });

  it('chains body filters innermost first, for streamed bodies and bodies given whole, with the heads they set', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0; suffix "x"
      route /stream { upper; stream_body 10KB 1KB text/plain }
      route /whole { upper; suffix "y"; whole_body 2KB }
    }`,
      { plugins },
    );
    const streamed = await httpGet(gate.url('/stream'));
    assert.equal(
      streamed.body.toString(),
      `${streamText(10 * 1024)
        .toString()
        .toUpperCase()}x`,
    );
    assert.equal(streamed.headers['content-length'], undefined);
    const whole = await httpGet(gate.url('/whole'));
    assert.equal(whole.body.toString(), `${streamText(2048).toString()}y`.toUpperCase() + 'x');
    assert.equal(whole.headers['content-length'], undefined, 'suffix dropped the length the handler set');
  });

  it('keeps a record of every response in ctx.sent: answered, HEAD, failed, left by the client, upgraded', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0; record
      route /ok { respond "hello" }
      route /missing { respond 404 "nothing here" }
      route /gone { stream_body 64MB 1MB text/plain }
      route /ws { echo_upgrade }
    }`,
      { plugins },
    );
    const wire = (text: string): { head: number; body: number } => ({ head: text.indexOf('\r\n\r\n') + 4, body: text.length - text.indexOf('\r\n\r\n') - 4 });
    const ok = nextRecord('/ok');
    const got = await rawRequest(gate.port, 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const s = await ok;
    assert.deepEqual([s.status, s.headerBytes, s.bodyBytes, s.clientLeft, s.upgraded, s.done], [200, wire(got.text).head, 5, false, false, true]);
    assert.ok(s.firstByteMs !== undefined && s.firstByteMs >= 0 && s.firstByteMs <= s.totalMs);
    const head = nextRecord('/ok');
    const headGot = await rawRequest(gate.port, 'HEAD /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual([(await head).status, (await head).headerBytes, (await head).bodyBytes], [200, wire(headGot.text).head, 0]);
    const missing = nextRecord('/missing');
    const missingGot = await rawRequest(gate.port, 'GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual([(await missing).status, (await missing).bodyBytes], [404, wire(missingGot.text).body]);
    const gone = nextRecord('/gone');
    await rawRequest(gate.port, 'GET /gone HTTP/1.1\r\nHost: x\r\n\r\n', 50);
    assert.deepEqual([(await gone).status, (await gone).clientLeft], [200, true]);
    const ws = nextRecord('/ws');
    const socket = await openSocket(gate.port);
    socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nhi');
    let echoed = '';
    socket.on('data', (chunk: Buffer) => {
      echoed += chunk.toString('latin1');
      if (echoed.endsWith('hi')) socket.end();
    });
    await once(socket, 'close');
    const up = await ws;
    assert.deepEqual([up.status, up.upgraded, up.bodyBytes, up.headerBytes], [101, true, echoed.length, 0]);
  });

  it('answers an error through the hooks too, and records it', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; record; mark outer; route /small { limit { body 1B }; respond "never" } }', { plugins });
    const refused = nextRecord('/small');
    const res = await fetch(gate.url('/small'), { method: 'POST', body: 'too long' });
    const text = await res.text();
    assert.deepEqual([res.status, res.headers.get('x-marks')], [413, 'outer']);
    assert.deepEqual([(await refused).status, (await refused).bodyBytes], [413, Buffer.byteLength(text)]);
  });

  it('streams a 10 MB compressed body to a slow reader with what the response holds bounded', async function () {
    this.timeout(15_000);
    gate = await startGate('server { listen 127.0.0.1:0; compress { gzip; level 1; types text/plain }; noise_body 10MB }', { plugins });
    const body = await readSlowly(gate.url('/'));
    assert.deepEqual(body, { length: 10 * 1024 * 1024, sha256: sha256(noiseText(10 * 1024 * 1024)) });
    assert.ok(buffered < 256 * 1024, `the response held ${buffered} bytes (its chain's and writableLength)`);
  });

  it('sends a compressed file to a slow reader in constant memory: what it holds does not grow with the file', async function () {
    this.timeout(60_000); // 24 MiB through gzip, with a full GC at each pause: seconds alone, far more on a loaded box
    const size = 24 * 1024 * 1024;
    mkdirSync(join(dir, 'site'));
    const file = noiseText(size);
    writeFileSync(join(dir, 'site', 'big.txt'), file);
    const digest = sha256(file);
    gate = await startGate(`server { listen 127.0.0.1:0; compress { gzip; level 1 }; static ${dir}/site }`, { plugins });
    const live = liveBuffers();
    const before = live();
    let most = 0;
    const body = await readSlowly(gate.url('/big.txt'), () => {
      most = Math.max(most, live() - before);
    });
    assert.deepEqual(body, { length: size, sha256: digest });
    assert.ok(most < 8 * 1024 * 1024, `the server held ${(most / 1048576).toFixed(1)} MiB more while sending`);
  });

  it('runs Node request listeners and fetch handlers through the filters and the record', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0; log { format "$path $status $bytes"; to ${dir}/app.log }; compress { gzip; min_size 1B }
      route /hello { app ./express-app.mjs }
      route /stream { app ./fetch.mjs }
    }`,
      { file: repoPath('plugins', 'app', 'testdata', 't.gate') },
    );
    const express = await httpGet(gate.url('/hello'), { 'accept-encoding': 'gzip' });
    assert.equal(gunzipSync(express.body).toString(), 'hello from express at /hello');
    const streamed = await httpGet(gate.url('/stream'), { 'accept-encoding': 'gzip' });
    assert.deepEqual([streamed.status, streamed.headers['content-encoding'], gunzipSync(streamed.body).toString()], [201, 'gzip', 'one two three']);
    await gate.close();
    gate = undefined;
    assert.deepEqual(readFileSync(join(dir, 'app.log'), 'utf8').split('\n').filter(Boolean), [
      `/hello 200 ${express.body.length}`,
      `/stream 201 ${streamed.body.length}`,
    ]);
  });

  it('logs a connection an nph- CGI script took over, with the status and the bytes it wrote', async () => {
    gate = await startGate(cgiConfig('', `log { format "$status $bytes"; to ${dir}/cgi.log };`), { file: CGI_FILE });
    const raw = await rawRequest(gate.port, 'GET /cgi-bin/nph-raw.sh HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(raw.status, 203);
    await gate.close();
    gate = undefined;
    assert.equal(readFileSync(join(dir, 'cgi.log'), 'utf8'), `203 ${raw.text.length}\n`);
  });

  it('refuses a hook added once the head went out', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; late_hook }', { plugins });
    assert.equal(await (await fetch(gate.url('/'))).text(), 'GK_RESPONSE_STARTED');
  });
});
