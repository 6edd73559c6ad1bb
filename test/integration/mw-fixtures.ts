// Test handlers for the middleware suites (log, compress, auth, headers, limit): streamed and
// large bodies, body readers, header echoes and upgrades, registered with startGate(text, { plugins: [MwTestPlugin] }).
import { EventEmitter, once } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import { arg, directive, injectable, type Ctx, type Plugin, type AnyUnit } from '../../core/index.js';

/** bodyLog records, per request path, how many body bytes the `read_body` handler saw. */
export const bodyLog = new Map<string, number>();

const handlers = [
  directive({
    name: 'stream_body',
    kind: 'handler',
    doc: 'Stream BYTES of JSON-ish text in CHUNK-sized writes, honouring backpressure',
    schema: { args: [arg.size('bytes'), arg.size('chunk'), arg.string('type', { optional: true, default: 'application/json' })] },
  }),
  directive({ name: 'read_body', kind: 'handler', doc: 'Read ctx.body to its end and answer with its length', schema: {} }),
  directive({ name: 'echo_headers', kind: 'handler', doc: 'Answer with the request headers as JSON (headers and rawHeaders)', schema: {} }),
  directive({ name: 'echo_upgrade', kind: 'handler', doc: 'Take an upgrade and echo bytes', schema: {} }),
  directive({ name: 'tick_body', kind: 'handler', doc: 'Write one chunk, then wait for the client to ask (X-Go request to /go) before ending', schema: {} }),
];

/** progress reports `stream_body` ('done' with the bytes written once its response ended) and `tick_body` ('closed' with its path). */
export const progress = new EventEmitter();
/** written counts the bytes each `stream_body` response has written so far, by path. */
export const written = new Map<string, number>();

/** noiseText is deterministic, barely compressible text (base64 of a xorshift stream) of `n` bytes. */
export function noiseText(n: number): Buffer {
  const raw = Buffer.alloc(Math.ceil((n * 3) / 4) + 3);
  let x = 2463534242;
  for (let i = 0; i < raw.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    raw[i] = x & 255;
  }
  return Buffer.from(raw.toString('base64').slice(0, n));
}

/** streamText is deterministic compressible text of `n` bytes. */
export function streamText(n: number): Buffer {
  const unit = Buffer.from('{"id":12345,"name":"gatekit","tags":["a","b","c"],"ok":true}\n');
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += unit.length) unit.copy(out, i, 0, Math.min(unit.length, n - i));
  return out;
}

/** ticker lets a test end `tick_body` responses: resolve the first waiting one. */
export const ticker: (() => void)[] = [];

/** MwTestPlugin provides the test handlers above. */
@injectable()
export class MwTestPlugin implements Plugin {
  readonly name = 'mwtest';
  readonly directives = handlers;

  create(d: string, config: unknown): AnyUnit {
    const c = config as { bytes: number; chunk: number; type: string };
    if (d === 'stream_body') return { handle: (ctx: Ctx) => streamBody(ctx, c.bytes, c.chunk, c.type) };
    if (d === 'read_body') {
      return {
        handle: async (ctx: Ctx) => {
          let n = 0;
          try {
            for await (const chunk of ctx.body) n += (chunk as Buffer).length;
          } finally {
            bodyLog.set(ctx.path, n);
          }
          await ctx.send(200, `read ${n}\n`);
        },
      };
    }
    if (d === 'echo_headers') {
      return {
        handle: (ctx: Ctx) =>
          ctx.send(200, JSON.stringify({ headers: ctx.req.headers, raw: ctx.req.rawHeaders, user: ctx.variable('user') ?? null }), {
            'content-type': 'application/json',
          }),
      };
    }
    if (d === 'tick_body') {
      return {
        handle: async (ctx: Ctx) => {
          ctx.res.once('close', () => progress.emit('closed', ctx.path));
          ctx.res.writeHead(200, { 'content-type': 'text/event-stream' });
          ctx.res.write(`data: ${'first '.repeat(200)}\n\n`);
          await new Promise<void>((resolve) => ticker.push(resolve));
          await new Promise<void>((resolve) => ctx.res.end('data: last\n\n', resolve));
        },
      };
    }
    return {
      upgrades: ['echo'],
      handle: async (ctx: Ctx) => {
        if (!ctx.upgrade) {
          await ctx.send(426, 'upgrade required\n');
          return;
        }
        const { socket, head } = ctx.takeUpgrade();
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
        if (head.length) socket.write(head);
        socket.pipe(socket);
      },
    };
  }
}

/** drained waits for 'drain' (true) or the response closing first (false). */
function drained(res: import('node:http').ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => (): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

async function streamBody(ctx: Ctx, bytes: number, chunk: number, type: string): Promise<void> {
  const res = ctx.res;
  const body = type === 'text/x-noise' ? noiseText(bytes) : streamText(bytes);
  res.writeHead(200, { 'content-type': type });
  for (let i = 0; i < bytes; i += chunk) {
    const ok = res.write(body.subarray(i, Math.min(bytes, i + chunk)));
    written.set(ctx.path, Math.min(bytes, i + chunk));
    if (!ok && !(await drained(res))) return;
  }
  await new Promise<void>((resolve) => res.end(resolve));
  progress.emit('done', ctx.path, bytes);
}

/** HttpResult is a response read with node:http (no automatic decompression). */
export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** get sends one request with node:http and collects the raw body; `ms` bounds the wait. */
export function httpGet(url: string, headers: Record<string, string> = {}, method = 'GET', ms = 3000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url} within ${ms} ms`)), ms);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

/** openSocket connects to 127.0.0.1:port and resolves once connected. */
export async function openSocket(port: number): Promise<import('node:net').Socket> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}
