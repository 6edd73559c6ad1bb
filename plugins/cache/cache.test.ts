import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';
import { Origin } from './testdata/origin.js';

const codes = async (text: string) => (await checkGate(text, { file: '/srv/t.gate' })).map((d) => `${d.code} ${d.span.line}:${d.span.col}`);

describe('cache: configuration', () => {
  it('accepts every option', async () => {
    assert.deepEqual(
      await codes(`server { listen 80; cache {
      ttl 1s; ttl 10m 200 301; ttl 1m 404; key "$scheme$host$uri"; methods GET HEAD
      bypass $cookie_nocache $arg_nocache; no_store $http_authorization; stale_while_revalidate 10s; stale_if_error 1h
      max_size 1MB; lock 2s; store disk /var/cache/gk { max_size 1GB }; header on; purge_from 127.0.0.1 10.0.0.0/8 ::1
    }; respond 200 ok }`),
      [],
    );
  });

  it('refuses a bad address in purge_from, a disk store without a folder, an unknown variable', async () => {
    assert.deepEqual(await codes('server { listen 80; cache { purge_from 10.0.0.0/33 }; respond 200 }'), ['GK_CACHE_BAD_ADDRESS 1:40']);
    assert.deepEqual(await codes('server { listen 80; cache { store disk }; respond 200 }'), ['GK_CACHE_NO_DIR 1:29']);
    assert.deepEqual(await codes('server { listen 80; cache { bypass $cookei_x }; respond 200 }'), ['GK_DSL_UNKNOWN_VARIABLE 1:36']);
  });
});

for (const kind of ['memory', 'disk'] as const)
  describe(`cache: over a proxied origin (${kind} store)`, () => {
    let gate: TestGate | undefined;
    let origin: Origin;
    let dir: string;
    beforeEach(async () => {
      origin = await new Origin().listen();
      dir = mkdtempSync(join(tmpdir(), 'gk-cache-'));
    });
    afterEach(async () => {
      await gate?.close();
      gate = undefined;
      await origin.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const serve = async (opts: string) => {
      gate = await startGate(
        `server { listen 127.0.0.1:0; log { format "$uri $status $cache_status"; to ${dir}/access.log }; cache { header on; ${kind === 'disk' ? `store disk ${dir}/store;` : ''} ${opts} }; proxy ${origin.url} }`,
      );
    };
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(gate!.url(path), { headers, method });

    it('answers fresh hits without the origin, with Age and X-Cache, and logs $cache_status', async () => {
      origin.on('/a', { headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, body: 'alpha' });
      await serve('');
      const first = await get('/a');
      assert.equal(first.headers.get('x-cache'), 'MISS');
      assert.equal(await first.text(), 'alpha');
      const second = await get('/a');
      assert.equal(second.headers.get('x-cache'), 'HIT');
      assert.equal(second.headers.get('age'), '0');
      assert.equal(second.headers.get('content-type'), 'text/plain');
      assert.equal(await second.text(), 'alpha');
      assert.equal(origin.count('/a'), 1);
      await gate!.close();
      assert.deepEqual(readFileSync(join(dir, 'access.log'), 'utf8'), '/a 200 MISS\n/a 200 HIT\n');
    });

    it('caches a silent response only with ttl, for its statuses', async () => {
      origin.on('/silent', { body: 'x' }).on('/gone', { status: 404, body: 'no' });
      await serve('ttl 1m');
      await (await get('/silent')).text();
      assert.equal((await get('/silent')).headers.get('x-cache'), 'HIT');
      await (await get('/gone')).text();
      assert.equal((await get('/gone')).headers.get('x-cache'), 'MISS');
      assert.equal(origin.count('/gone'), 2);
    });

    it('never stores private, no-store or Set-Cookie responses, nor answers to Authorization', async () => {
      origin
        .on('/p', { headers: { 'cache-control': 'private, max-age=60' }, body: 'mine' })
        .on('/ns', { headers: { 'cache-control': 'no-store' }, body: 'x' })
        .on('/cookie', (_r, n) => ({ headers: { 'cache-control': 'max-age=60', 'set-cookie': `sid=${n}` }, body: `user ${n}` }))
        .on('/auth', (r) => ({ headers: { 'cache-control': 'max-age=60' }, body: String(r.headers.authorization) }));
      await serve('ttl 1m');
      for (const p of ['/p', '/ns', '/cookie']) {
        await (await get(p)).text();
        await (await get(p)).text();
        assert.equal(origin.count(p), 2, p);
      }
      assert.equal((await get('/cookie')).headers.get('set-cookie'), 'sid=3');
      assert.equal(await (await get('/auth', { authorization: 'Basic YTpi' })).text(), 'Basic YTpi');
      assert.equal(await (await get('/auth')).text(), 'undefined');
    });

    it('keeps Vary variants apart', async () => {
      origin.on('/v', (r) => ({ headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' }, body: `lang ${r.headers['accept-language']}` }));
      await serve('');
      for (let i = 0; i < 2; i++) {
        assert.equal(await (await get('/v', { 'accept-language': 'fr' })).text(), 'lang fr');
        assert.equal(await (await get('/v', { 'accept-language': 'de' })).text(), 'lang de');
      }
      assert.equal(origin.count('/v'), 2);
    });

    it('answers HEAD, ranges and conditional requests from a stored GET', async () => {
      origin.on('/r', { headers: { 'cache-control': 'max-age=60', etag: '"v1"' }, body: '0123456789' });
      await serve('');
      await (await get('/r')).text();
      const head = await get('/r', {}, 'HEAD');
      assert.equal(head.headers.get('content-length'), '10');
      assert.equal(head.headers.get('x-cache'), 'HIT');
      const part = await get('/r', { range: 'bytes=2-4' });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('content-range'), 'bytes 2-4/10');
      assert.equal(await part.text(), '234');
      const bad = await get('/r', { range: 'bytes=20-' });
      assert.equal(bad.status, 416);
      await bad.text();
      const cond = await get('/r', { 'if-none-match': '"v1"' });
      assert.equal(cond.status, 304);
      assert.equal(cond.headers.get('etag'), '"v1"');
      assert.equal(origin.count('/r'), 1);
    });

    it('revalidates an expired entry with its validators: a 304 refreshes it', async () => {
      origin.on('/e', (r, n) =>
        n > 1 && r.headers['if-none-match'] === '"e1"'
          ? { status: 304, headers: { etag: '"e1"', 'cache-control': 'max-age=60' } }
          : { headers: { 'cache-control': 'max-age=0', etag: '"e1"' }, body: 'body e' },
      );
      await serve('');
      await (await get('/e')).text();
      const again = await get('/e');
      assert.equal(again.headers.get('x-cache'), 'REVALIDATED');
      assert.equal(again.status, 200);
      assert.equal(await again.text(), 'body e');
      const third = await get('/e');
      assert.equal(third.headers.get('x-cache'), 'HIT');
      assert.equal(await third.text(), 'body e');
      assert.equal(origin.count('/e'), 2);
    });

    it('bypasses on a set variable, and does not store with no_store', async () => {
      origin.on('/b', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `n${n}` }));
      origin.on('/c', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `c${n}` }));
      await serve('bypass $arg_fresh; no_store $cookie_sid');
      await (await get('/b')).text();
      const by = await get('/b?fresh=1');
      assert.equal(by.headers.get('x-cache'), 'BYPASS');
      assert.equal(await by.text(), 'n2');
      assert.equal(await (await get('/b')).text(), 'n1');
      assert.equal(await (await get('/c', { cookie: 'sid=1' })).text(), 'c1');
      assert.equal(await (await get('/c')).text(), 'c2');
      assert.equal(await (await get('/c')).text(), 'c2');
    });

    it('streams a body larger than max_size through uncached', async () => {
      origin.on('/big', { headers: { 'cache-control': 'max-age=60' }, body: Buffer.alloc(5000, 97) });
      await serve('max_size 1KB');
      for (let i = 0; i < 2; i++) assert.equal((await (await get('/big')).arrayBuffer()).byteLength, 5000);
      assert.equal(origin.count('/big'), 2);
    });

    it('lets one of 100 concurrent misses reach the origin with lock', async () => {
      let open!: () => void;
      const hold = new Promise<void>((resolve) => {
        open = resolve;
      });
      origin.on('/slow', { headers: { 'cache-control': 'max-age=60' }, body: 'slow', hold });
      await serve('lock 5s');
      const all = Array.from({ length: 100 }, () => get('/slow').then((r) => r.text()));
      while (origin.count('/slow') === 0) await new Promise((r) => setImmediate(r));
      open();
      assert.deepEqual(new Set(await Promise.all(all)), new Set(['slow']));
      assert.equal(origin.count('/slow'), 1);
    });

    it('purges by key and by prefix, from allowed addresses only', async () => {
      origin.on('/x/1', { headers: { 'cache-control': 'max-age=60' }, body: '1' }).on('/x/2', { headers: { 'cache-control': 'max-age=60' }, body: '2' });
      await serve('purge_from 127.0.0.1 ::1');
      for (const p of ['/x/1', '/x/2']) await (await get(p)).text();
      const one = await get('/x/1', {}, 'PURGE');
      assert.equal(one.status, 200);
      await one.text();
      assert.equal((await get('/x/2')).headers.get('x-cache'), 'HIT');
      assert.equal((await get('/x/1')).headers.get('x-cache'), 'MISS');
      const all = await get('/x/*', {}, 'PURGE');
      assert.equal(await all.text(), '2 entries purged\n');
      assert.equal((await get('/x/2')).headers.get('x-cache'), 'MISS');
    });

    it('refuses PURGE from other addresses', async () => {
      await serve('purge_from 10.0.0.0/8');
      assert.equal((await get('/a', {}, 'PURGE')).status, 403);
    });

    it('answers with a stale entry when the origin fails, within stale_if_error', async () => {
      origin.on('/f', (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=0, must-revalidate' }, body: 'good' } : { status: 503, body: 'down' }));
      // must-revalidate forbids it: the failure passes through
      await serve('stale_if_error 1m');
      await (await get('/f')).text();
      assert.equal((await get('/f')).status, 503);
      origin.on('/g', (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=0' }, body: 'good' } : { status: 503, body: 'down' }));
      await (await get('/g')).text();
      const stale = await get('/g');
      assert.equal(stale.status, 200);
      assert.equal(stale.headers.get('x-cache'), 'STALE');
      assert.equal(await stale.text(), 'good');
    });
  });

describe('cache: disk store', () => {
  let gate: TestGate | undefined;
  let origin: Origin;
  let dir: string;
  beforeEach(async () => {
    origin = await new Origin().listen();
    dir = mkdtempSync(join(tmpdir(), 'gk-cache-'));
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const serve = async (store = `store disk ${dir}/store`) => {
    gate = await startGate(`server { listen 127.0.0.1:0; cache { header on; ${store} }; proxy ${origin.url} }`);
  };
  const get = async (path: string) => {
    const r = await fetch(gate!.url(path));
    return [r.headers.get('x-cache'), await r.text()];
  };

  it('keeps entries across a restart, and streams a large body from disk', async () => {
    const big = Buffer.alloc(300_000, 'abcdefgh');
    origin.on('/a', { headers: { 'cache-control': 'max-age=60' }, body: 'alpha' }).on('/big', { headers: { 'cache-control': 'max-age=60' }, body: big });
    await serve();
    assert.deepEqual(await get('/a'), ['MISS', 'alpha']);
    assert.deepEqual(await get('/big'), ['MISS', big.toString()]);
    await gate!.close();
    await serve();
    assert.deepEqual(await get('/a'), ['HIT', 'alpha']);
    assert.deepEqual(await get('/big'), ['HIT', big.toString()]);
    const part = await fetch(gate!.url('/big'), { headers: { range: 'bytes=299990-' } });
    assert.equal(await part.text(), big.subarray(299990).toString());
    assert.equal(origin.count('/a') + origin.count('/big'), 2);
  });

  it("drops a corrupt entry with one log line and serves the handler's answer", async () => {
    origin.on('/a', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `alpha ${n}` }));
    await serve();
    await get('/a');
    for (const f of filesUnder(join(dir, 'store'))) writeFileSync(f, 'garbage');
    assert.deepEqual(await get('/a'), ['MISS', 'alpha 2']);
    assert.equal(gate!.logs.filter((l) => l.includes('corrupt entry')).length, 1);
    assert.deepEqual(await get('/a'), ['HIT', 'alpha 2']);
  });

  it('serves uncached, with one log line, when the folder cannot be written', async () => {
    origin.on('/a', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `alpha ${n}` }));
    writeFileSync(join(dir, 'file'), '');
    await serve(`store disk ${dir}/file/store`);
    assert.deepEqual(await get('/a'), ['MISS', 'alpha 1']);
    assert.deepEqual(await get('/a'), ['MISS', 'alpha 2']);
    assert.equal(gate!.logs.filter((l) => l.includes('serving uncached')).length, 1, gate!.logs.join('\n'));
  });

  it('evicts the least recently used entries past max_size', async () => {
    for (let i = 0; i < 8; i++) origin.on(`/e${i}`, { headers: { 'cache-control': 'max-age=60' }, body: Buffer.alloc(10_000, 120) });
    await serve(`store disk ${dir}/store { max_size 40KB }`);
    for (let i = 0; i < 8; i++) await get(`/e${i}`);
    await gate!.close();
    gate = undefined;
    const total = filesUnder(join(dir, 'store')).reduce((n, f) => n + statSync(f).size, 0);
    assert.ok(total <= 40 * 1024 && total > 0, `${total} bytes on disk`);
  });
});

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && !d.parentPath.endsWith('tmp'))
    .map((d) => join(d.parentPath, d.name));
}

describe('cache: stale-while-revalidate', () => {
  let gate: TestGate | undefined;
  let origin: Origin;
  beforeEach(async () => {
    origin = await new Origin().listen();
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await origin.close();
  });

  it('answers stale at once and refreshes once in the background', async () => {
    let open!: () => void;
    const hold = new Promise<void>((resolve) => {
      open = resolve;
    });
    origin.on('/s', (_r, n) => ({ headers: { 'cache-control': 'max-age=0, stale-while-revalidate=60' }, body: `v${n}`, hold: n === 2 ? hold : undefined }));
    gate = await startGate(`server { listen 127.0.0.1:0; cache { header on }; proxy ${origin.url} }`);
    const get = async () => {
      const r = await fetch(gate!.url('/s'));
      return [r.headers.get('x-cache'), await r.text()];
    };
    assert.deepEqual(await get(), ['MISS', 'v1']);
    // the refresh is held at the origin: these are answered from the stale entry meanwhile
    assert.deepEqual(await get(), ['STALE', 'v1']);
    assert.deepEqual(await get(), ['UPDATING', 'v1']);
    assert.deepEqual(await get(), ['UPDATING', 'v1']);
    assert.equal(origin.count('/s'), 2);
    open();
    for (let r = await get(); r[1] !== 'v2'; r = await get()) assert.equal(r[1], 'v1');
    assert.equal(origin.count('/s') >= 2 && origin.count('/s') <= 3, true);
  });

  it('answers HEAD, a conditional request and each Vary variant from its own stale entry while refreshing', async () => {
    let open!: () => void;
    const hold = new Promise<void>((resolve) => {
      open = resolve;
    });
    origin.on('/v', (req, n) => ({
      headers: { 'cache-control': 'max-age=0, stale-while-revalidate=60', vary: 'Accept-Language', etag: `"${req.headers['accept-language']}${n}"` },
      body: `${req.headers['accept-language']}${n}`,
      hold: n === 3 ? hold : undefined,
    }));
    gate = await startGate(`server { listen 127.0.0.1:0; cache { header on }; proxy ${origin.url} }`);
    const get = async (lang: string, init: RequestInit = {}) => {
      const r = await fetch(gate!.url('/v'), { ...init, headers: { 'accept-language': lang, ...init.headers } });
      return [r.status, r.headers.get('x-cache'), r.headers.get('etag'), await r.text()];
    };
    assert.deepEqual(await get('fr'), [200, 'MISS', '"fr1"', 'fr1']);
    assert.deepEqual(await get('de'), [200, 'MISS', '"de2"', 'de2']);
    // the refresh of 'fr' is held at the origin: the key's refresh runs, every stale variant answers as it is
    assert.deepEqual(await get('fr'), [200, 'STALE', '"fr1"', 'fr1']);
    assert.deepEqual(await get('fr'), [200, 'UPDATING', '"fr1"', 'fr1']);
    assert.deepEqual(await get('de'), [200, 'UPDATING', '"de2"', 'de2']);
    assert.deepEqual(await get('fr', { method: 'HEAD' }), [200, 'UPDATING', '"fr1"', '']);
    assert.deepEqual(await get('fr', { headers: { 'if-none-match': '"fr1"' } }), [304, 'UPDATING', '"fr1"', '']);
    assert.deepEqual(await get('de', { headers: { range: 'bytes=0-1' } }), [206, 'UPDATING', '"de2"', 'de']);
    assert.equal(origin.count('/v'), 3);
    open();
    for (let r = await get('fr'); r[3] !== 'fr3'; r = await get('fr')) assert.equal(r[3], 'fr1');
  });

  it('applies stale_while_revalidate from the config to responses that say nothing of it', async () => {
    origin.on('/d', (_r, n) => ({ headers: { 'cache-control': 'max-age=0' }, body: `d${n}` }));
    gate = await startGate(`server { listen 127.0.0.1:0; cache { header on; stale_while_revalidate 1m }; proxy ${origin.url} }`);
    await (await fetch(gate.url('/d'))).text();
    const r = await fetch(gate.url('/d'));
    assert.equal(r.headers.get('x-cache'), 'STALE');
    assert.equal(await r.text(), 'd1');
  });
});
