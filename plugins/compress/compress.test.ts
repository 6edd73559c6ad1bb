import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { brotliDecompressSync, createGunzip, gunzipSync, inflateSync } from 'node:zlib';
import { injectable, arg, directive, type Ctx, type Plugin, type AnyUnit } from '../../core/index.js';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';
import { httpGet, MwTestPlugin, noiseText, progress, streamText, ticker, written } from '../../test/integration/mw-fixtures.js';
import { negotiate } from './negotiate.js';

/** FixedPlugin: `fixed STATUS` answers with headers taken from the request's X-Set-* headers and a 2 KiB JSON body. */
@injectable()
class FixedPlugin implements Plugin {
  readonly name = 'fixed';
  readonly directives = [directive({ name: 'fixed', kind: 'handler', doc: 'fixed', schema: { args: [arg.status('status')] } })];
  create(_d: string, config: unknown): AnyUnit {
    const { status } = config as { status: number };
    return {
      handle: async (ctx: Ctx) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        for (const [k, v] of Object.entries(ctx.req.headers)) if (k.startsWith('x-set-')) headers[k.slice(6)] = String(v);
        const body = streamText(2048);
        if (!('no-length' in headers)) headers['content-length'] = String(body.length);
        delete headers['no-length'];
        ctx.res.writeHead(status, headers);
        ctx.res.end(status === 204 || status === 304 || ctx.method === 'HEAD' ? undefined : body);
      },
    };
  }
}

const plugins = [MwTestPlugin, FixedPlugin];

describe('compress', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  const start = async (opts = 'gzip; br; deflate'): Promise<TestGate> =>
    (gate = await startGate(
      `server { listen 127.0.0.1:0; compress { ${opts} }
      route /big { stream_body 300KB 16KB }
      route /fixed/ { fixed 200 }
      route /nc/ { fixed 204 }
      route /nm/ { fixed 304 }
      route /range/ { fixed 206 }
      route /png { stream_body 4KB 4KB image/png }
      route /sse { tick_body }
      route /tiny { respond "tiny" { content_type application/json } }
      respond 404 "nothing here"
    }`,
      { plugins },
    ));

  it('gzips, brotlis and deflates a streamed body that decompresses to the original', async () => {
    await start();
    const want = streamText(300 * 1024);
    for (const [enc, decode] of [
      ['gzip', gunzipSync],
      ['br', brotliDecompressSync],
      ['deflate', inflateSync],
    ] as const) {
      const res = await httpGet(gate!.url('/big'), { 'accept-encoding': enc });
      assert.equal(res.headers['content-encoding'], enc);
      assert.equal(res.headers.vary, 'Accept-Encoding');
      assert.equal(res.headers['content-length'], undefined);
      assert.ok(res.body.length < want.length / 5, `${enc} compressed ${want.length} to ${res.body.length}`);
      assert.ok(decode(res.body).equals(want), `${enc} round trip`);
    }
  });

  it('negotiates with q-values, refuses q=0, prefers the configured order on ties and honours identity', async () => {
    await start('br; gzip');
    const enc = async (ae: string): Promise<string | undefined> =>
      (await httpGet(gate!.url('/fixed/x'), { 'accept-encoding': ae })).headers['content-encoding'] as string | undefined;
    assert.equal(await enc('gzip, br'), 'br');
    assert.equal(await enc('gzip;q=1, br;q=0.5'), 'gzip');
    assert.equal(await enc('br;q=0, gzip'), 'gzip');
    assert.equal(await enc('*'), 'br');
    assert.equal(await enc('*;q=0'), undefined);
    assert.equal(await enc('deflate'), undefined);
    assert.equal(await enc('gzip;q=0.5, identity;q=1'), undefined);
    assert.equal(await enc('GZIP ; Q=0.7'), 'gzip');
    const plain = await httpGet(gate!.url('/fixed/x'));
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.vary, 'Accept-Encoding', 'Vary is sent even when this client got identity');
    assert.equal(plain.headers['content-length'], '2048');
    assert.deepEqual([negotiate(undefined, ['gzip']), negotiate('x-gzip', ['gzip']), negotiate('br;q=abc', ['br'])], [undefined, 'gzip', 'br']);
  });

  it('makes a strong ETag weak, drops Accept-Ranges, and keeps an existing Vary', async () => {
    await start();
    const res = await httpGet(gate!.url('/fixed/x'), {
      'accept-encoding': 'gzip',
      'x-set-etag': '"abc"',
      'x-set-accept-ranges': 'bytes',
      'x-set-vary': 'Origin',
    });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers.etag, 'W/"abc"');
    assert.equal(res.headers['accept-ranges'], undefined);
    assert.equal(res.headers.vary, 'Origin, Accept-Encoding');
    assert.ok(gunzipSync(res.body).equals(streamText(2048)));
  });

  it('leaves alone encoded, 204, 304, 206, small, no-transform and unlisted types', async () => {
    await start();
    const ae = { 'accept-encoding': 'gzip, br' };
    const cases: [string, Record<string, string>, string?][] = [
      ['/fixed/enc', { 'x-set-content-encoding': 'br' }],
      ['/nc/', {}],
      ['/nm/', {}],
      ['/range/', { 'x-set-content-range': 'bytes 0-2047/9999' }],
      ['/tiny', {}],
      ['/fixed/nt', { 'x-set-cache-control': 'public, no-transform' }],
      ['/png', {}],
    ];
    for (const [path, extra, method] of cases) {
      const res = await httpGet(gate!.url(path), { ...ae, ...extra }, method);
      const expected = path === '/fixed/enc' ? 'br' : undefined;
      assert.equal(res.headers['content-encoding'], expected, `${method ?? 'GET'} ${path} was encoded`);
    }
    const range = await httpGet(gate!.url('/range/'), ae);
    assert.equal(range.status, 206);
    assert.ok(range.body.equals(streamText(2048)));
  });

  it('answers a HEAD with the head its GET gets: coding, Vary, weak ETag, no length', async () => {
    await start();
    const h = { 'accept-encoding': 'gzip', 'x-set-etag': '"v1"' };
    const get = await httpGet(gate!.url('/fixed/x'), h);
    const head = await httpGet(gate!.url('/fixed/x'), h, 'HEAD');
    const pick = (r: typeof get): unknown[] => [r.headers['content-encoding'], r.headers.vary, r.headers.etag, r.headers['content-length']];
    assert.deepEqual(pick(head), ['gzip', 'Accept-Encoding', 'W/"v1"', undefined]);
    assert.deepEqual(pick(head), pick(get));
    assert.equal(head.body.length, 0);
  });

  it('compresses a body of unknown length and decides on a whole body passed to end()', async () => {
    await start();
    const res = await httpGet(gate!.url('/fixed/x'), { 'accept-encoding': 'gzip', 'x-set-no-length': '1' });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.ok(gunzipSync(res.body).equals(streamText(2048)));
    const small = await httpGet(gate!.url('/nothing'), { 'accept-encoding': 'gzip' });
    assert.deepEqual([small.status, small.headers['content-encoding'], small.body.toString()], [404, undefined, 'nothing here']);
  });

  it('keeps backpressure: a paused reader holds the handler back, and the body still arrives whole', async () => {
    const size = 8 * 1024 * 1024;
    gate = await startGate('server { listen 127.0.0.1:0; compress { gzip; level 1; types text/x-noise }; stream_body 8MB 64KB text/x-noise }', { plugins });
    let finished = false;
    const onDone = (): void => {
      finished = true;
    };
    progress.on('done', onDone);
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        request(gate!.url('/'), { headers: { 'accept-encoding': 'gzip' }, agent: false }, resolve)
          .on('error', reject)
          .end();
      });
      res.pause();
      // Proving that something does not happen takes a window of time: 300 ms, ample for 8 MB without backpressure.
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!finished && (written.get('/') ?? 0) < size, `the handler wrote ${written.get('/')} bytes to a paused reader`);
      const gunzip = createGunzip();
      const parts: Buffer[] = [];
      gunzip.on('data', (c: Buffer) => parts.push(c));
      res.pipe(gunzip);
      await once(gunzip, 'end');
      assert.ok(Buffer.concat(parts).equals(noiseText(size)));
    } finally {
      progress.off('done', onDone);
    }
  });

  it('flushes what a paused stream has written (server-sent events stay live)', async () => {
    await start();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request(gate!.url('/sse'), { headers: { 'accept-encoding': 'gzip' }, agent: false }, resolve)
        .on('error', reject)
        .end();
    });
    assert.equal(res.headers['content-encoding'], 'gzip');
    const gunzip = createGunzip();
    res.pipe(gunzip);
    let text = '';
    gunzip.on('data', (c: Buffer) => {
      text += c.toString();
    });
    while (!text.includes('first')) await once(gunzip, 'data');
    assert.ok(!text.includes('last'));
    ticker.shift()!();
    await once(gunzip, 'end');
    assert.ok(text.endsWith('data: last\n\n'));
  });

  it('leaves upgrade requests alone', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; compress; echo_upgrade }', { plugins });
    const { rawUntil } = await import('../../test/helpers/raw-http.js');
    const r = await rawUntil(gate.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\nAccept-Encoding: gzip\r\n\r\nping', (t) =>
      t.endsWith('ping'),
    );
    assert.equal(r.status, 101);
    assert.ok(r.text.endsWith('ping'));
  });

  it('reports a level out of range at its position', async () => {
    const [d] = await checkGate('server { listen 80; compress { level 12 }; respond "x" }');
    assert.deepEqual([d.code, d.span.line, d.span.col], ['GK_DSL_BAD_ARG', 1, 38]);
  });
});
