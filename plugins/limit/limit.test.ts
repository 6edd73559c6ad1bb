import assert from 'node:assert/strict';
import { once } from 'node:events';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';
import { rawRequest, rawUntil } from '../../test/helpers/raw-http.js';
import { bodyLog, MwTestPlugin, openSocket, progress, ticker } from '../../test/integration/mw-fixtures.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ctx, HttpError } from '../../core/index.js';
import { TextLogger } from '../../core/logger.js';
import { CountersBroker } from './broker.js';
import { BrokerLink, SharedCounters } from './broker-link.js';
import { carryOver } from './carry.js';
import { TokenBuckets } from './bucket.js';
import { LocalCounters, type Counters, type Release } from './counters.js';
import { LimitUnit } from './handler.js';
import type { LimitConfig } from './schema.js';

const plugins = [MwTestPlugin];

describe('limit', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('answers 413 from Content-Length, before the handler runs, and closes the connection', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; limit { body 1KB }; read_body }', { plugins });
    bodyLog.delete('/cl');
    const r = await rawRequest(gate.port, `POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n${'a'.repeat(2000)}`);
    assert.equal(r.status, 413);
    assert.match(r.text, /connection: close/i);
    assert.ok(r.closed);
    assert.equal(bodyLog.has('/cl'), false);
    const ok = await rawRequest(gate.port, `POST /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1024\r\n\r\n${'a'.repeat(1024)}`);
    assert.deepEqual([ok.status, ok.text.endsWith('read 1024\n')], [200, true]);
  });

  it('answers 413 to a chunked body past the limit, and the handler never sees the excess', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; limit { body 1KB }; read_body }', { plugins });
    const chunk = (s: string): string => `${s.length.toString(16)}\r\n${s}\r\n`;
    const body = chunk('a'.repeat(600)) + chunk('b'.repeat(600)) + chunk('c'.repeat(600)) + '0\r\n\r\n';
    const r = await rawRequest(gate.port, `POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
    assert.equal(r.status, 413);
    assert.ok(r.closed);
    assert.ok(bodyLog.get('/chunked')! <= 1024, `the handler read ${bodyLog.get('/chunked')} bytes`);
    const small = await rawRequest(
      gate.port,
      `POST /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('x'.repeat(1000))}0\r\n\r\n`,
    );
    assert.ok(small.text.endsWith('read 1000\n'));
  });

  it('answers 429 with Retry-After past the rate, per key', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; limit { rate 1/m burst 2 per $http_x_key }; respond "ok" }');
    const hit = (key: string): Promise<Response> => fetch(gate!.url('/'), { headers: { 'x-key': key } });
    assert.equal((await hit('a')).status, 200);
    assert.equal((await hit('a')).status, 200);
    const third = await hit('a');
    assert.equal(third.status, 429);
    const wait = Number(third.headers.get('retry-after'));
    assert.ok(wait > 0 && wait <= 60, `Retry-After ${wait}`);
    assert.equal((await hit('b')).status, 200, 'another key has its own bucket');
  });

  it('refills a token bucket at its rate', () => {
    let t = 0;
    const b = new TokenBuckets(10 / 1000, 1, () => t);
    assert.equal(b.take('k'), 0);
    assert.equal(Math.round(b.take('k')), 100);
    t += 100;
    assert.equal(b.take('k'), 0);
  });

  it('bounds requests in flight per client (429), releasing them when responses end', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; limit { connections 1 }; tick_body }', { plugins });
    const first = await openSocket(gate.port);
    first.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(first, 'data');
    const second = await fetch(gate.url('/b'));
    assert.deepEqual([second.status, second.headers.get('retry-after')], [429, '1']);
    const released = once(progress, 'closed');
    first.destroy();
    await released; // the server saw the first response close, after the limit let go of it
    ticker.shift()?.();
    const third = await fetch(gate.url('/c'));
    assert.equal(third.status, 200);
    ticker.shift()?.();
  });

  it('answers 408 and closes the socket when a body stalls (slow client)', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; limit { body_timeout 200ms }; read_body }', { plugins });
    const s = await openSocket(gate.port);
    s.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part');
    let text = '';
    s.on('data', (c: Buffer) => {
      text += c.toString();
    });
    const t = performance.now();
    await once(s, 'close');
    assert.match(text, /^HTTP\/1\.1 408/);
    assert.ok(performance.now() - t < 1500);
  });

  it('answers 408 and closes the socket when headers stall (kernel header_timeout)', async () => {
    gate = await startGate('global { header_timeout 300ms }\nserver { listen 127.0.0.1:0; respond "x" }');
    const s = await openSocket(gate.port);
    s.write('GET / HTTP/1.1\r\nHost: x\r\n');
    let text = '';
    s.on('data', (c: Buffer) => {
      text += c.toString();
    });
    await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 1500))]);
    s.destroy();
    assert.match(text, /^HTTP\/1\.1 408/);
  });

  it('applies rate limits to upgrade requests', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; limit { rate 1/m }; echo_upgrade }', { plugins });
    const up = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n';
    assert.equal((await rawUntil(gate.port, up, (t) => t.includes('\r\n\r\n'))).status, 101);
    assert.equal((await rawUntil(gate.port, up, (t) => t.includes('\r\n\r\n'))).status, 429);
  });

  it('reports a bad rate and an empty block', async () => {
    const [a] = await checkGate('server { listen 80; limit { rate 10/day }; respond "x" }');
    assert.deepEqual([a.code, a.span.col], ['GK_LIMIT_BAD_RATE', 29]);
    const [b] = await checkGate('server { listen 80; limit { body ten }; respond "x" }');
    assert.deepEqual([b.code, b.span.col], ['GK_DSL_BAD_ARG', 34]);
  });

  it('reports on_store_error on a limit that is not shared', async () => {
    const [a] = await checkGate('server { listen 80; limit { rate 1/s; on_store_error deny }; respond "x" }');
    assert.deepEqual([a?.code, a?.span.col], ['GK_LIMIT_STORE_POLICY', 54]);
    assert.deepEqual(await checkGate('server { listen 80; limit { rate 1/s; store shared; on_store_error deny }; respond "x" }'), []);
  });
});

/** enterSoon retries an entry a few times: a release from one worker and an entry from another travel on separate connections. */
async function enterSoon(c: Counters, key: string): Promise<Release | undefined> {
  for (let i = 0; i < 50; i++) {
    const r = await c.enter(key);
    if (r) return r;
    await new Promise((done) => setTimeout(done, 10));
  }
  return undefined;
}

describe('limit counters kept by the master', () => {
  const cfg = { rate: [{ rate: '1/m', burst: 2 }], connections: { count: 1 } } as unknown as LimitConfig;
  const lines: string[] = [];
  const log = new TextLogger((l) => lines.push(l), 'debug');
  let dir: string;
  let broker: CountersBroker | undefined;
  const links: BrokerLink[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-limit-'));
    lines.length = 0;
  });
  afterEach(async () => {
    for (const l of links.splice(0)) l.close();
    await broker?.stop();
    broker = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** worker connects one more link, as a worker process would, and gives the block's counters through it. */
  const worker = async (path: string): Promise<Counters> => {
    const link = new BrokerLink(path, log);
    links.push(link);
    assert.equal(await link.open(), true);
    return new SharedCounters(link, 'site.gate:3:5', new LocalCounters(cfg));
  };

  it('share one token bucket and one count in flight among workers; a worker that goes releases its count', async () => {
    const path = join(dir, 'run', 'counters.sock');
    broker = new CountersBroker(path, new Map([['site.gate:3:5', new LocalCounters(cfg)]]), log);
    await broker.start();
    const [a, b] = [await worker(path), await worker(path)];
    assert.equal(await a.take(0, 'k'), 0);
    assert.equal(await b.take(0, 'k'), 0);
    const wait = await b.take(0, 'k');
    assert.ok(wait > 0 && wait <= 60_000, `the third request of a burst of 2 waits (${wait} ms), whichever worker asks`);
    assert.equal(await a.take(0, 'other'), 0, 'another key has its own bucket');

    const entered = await a.enter('k');
    assert.ok(entered);
    assert.equal(await b.enter('k'), undefined, 'one in flight, counted on the other worker');
    entered();
    const second = await enterSoon(b, 'k');
    assert.ok(second, 'released by the first worker, entered by the second');
    links[1].close(); // the second worker goes, with its request still counted
    assert.ok(await enterSoon(a, 'k'), 'the master released what the gone worker held');
  });

  it('carry long keys as digests, and send a worker back to its own counters for a block the master does not know', async () => {
    const path = join(dir, 'run', 'counters.sock');
    broker = new CountersBroker(path, new Map([['site.gate:3:5', new LocalCounters(cfg)]]), log);
    await broker.start();
    const [a, b] = [await worker(path), await worker(path)];
    const long = `k${'é"\\'.repeat(40_000)}`;
    const held = await a.enter(long);
    assert.ok(held);
    assert.equal(await b.enter(long), undefined, 'one key for both workers, however long');
    assert.equal(await b.take(0, 'short'), 0, 'the connection survived the long key');
    const link = new BrokerLink(path, log);
    links.push(link);
    assert.equal(await link.open(), true);
    const unknown = new SharedCounters(link, 'elsewhere.gate:1:1', new LocalCounters(cfg));
    assert.ok(await unknown.enter('k'), 'counted here, not refused');
    assert.equal(await unknown.enter('k'), undefined, 'and counted here: the local limit holds');
    assert.match(lines.join(''), /a worker asked for a block the master does not know/);
  });

  it('let a worker count alone when the master cannot be reached', async () => {
    const link = new BrokerLink(join(dir, 'none', 'counters.sock'), log);
    links.push(link);
    assert.equal(await link.open(), false);
    assert.match(lines.join(''), /cannot reach the master's counters; this worker counts alone/);
    assert.equal(
      link.ask((id) => ['t', id, 'x', 0, 'k']),
      undefined,
    );
  });
});

describe('limit admission while the counters answer', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  it('stops a request whose client left meanwhile, and releases what was counted for it', async () => {
    const cfg = { rate: [{ rate: '100/s', burst: 100 }], connections: { count: 1 } } as unknown as LimitConfig;
    const local = new LocalCounters(cfg);
    // The master's answers take a round trip; here a fixed 100 ms, longer than the client waits.
    const slow: Counters = { take: (r, k) => new Promise((ok) => setTimeout(() => ok(local.take(r, k)), 100)), enter: (k) => local.enter(k) };
    const unit = new LimitUnit(cfg, { file: 'site.gate', line: 1, col: 1, len: 5 }, () => Promise.resolve(slow));
    await unit.provision();
    const outcomes: (number | string)[] = [];
    const log = new TextLogger(() => {}, 'error');
    server = createServer((req, res) => {
      const ctx = new Ctx(req, res, { scheme: 'http', port: 0 }, 'x', '/', '/', '', log);
      unit
        .handle(ctx, async () => {
          outcomes.push('served');
          res.end('ok');
        })
        .then(
          () => undefined,
          (e: unknown) => {
            outcomes.push(e instanceof HttpError ? e.status : String(e));
            if (!res.headersSent) res.writeHead(e instanceof HttpError ? e.status : 500).end();
          },
        );
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const get = (): Promise<number> =>
      new Promise((ok, fail) => {
        request({ port, host: '127.0.0.1', agent: false }, (res) => {
          res.resume();
          ok(res.statusCode ?? 0);
        })
          .on('error', fail)
          .end();
      });
    const gone = request({ port, host: '127.0.0.1', agent: false });
    gone.on('error', () => {});
    gone.end();
    await new Promise((r) => setTimeout(r, 30));
    gone.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(outcomes, [499], 'the request that lost its client went no further');
    assert.deepEqual([await get(), await get()], [200, 200], 'nothing stayed counted in flight for it');
  });
});

describe('limit counters across a reload (carryOver)', () => {
  const counters = (rate: string): LocalCounters => new LocalCounters({ rate: [{ rate, burst: 1 }] } as unknown as LimitConfig);
  const blocks = (...entries: [string, LocalCounters][]): Map<string, LocalCounters> => new Map(entries);

  it('keeps the counters of blocks unchanged in place, and of blocks a line added above has moved', () => {
    const a = counters('1/m'),
      b = counters('2/m'),
      c = counters('1/m');
    const before = blocks(['g:3:3', a], ['g:5:3', b], ['g:9:3', c]);
    const same = carryOver(before, blocks(['g:3:3', counters('1/m')], ['g:5:3', counters('2/m')], ['g:9:3', counters('1/m')]));
    assert.deepEqual([...same.values()], [a, b, c]);
    const moved = carryOver(before, blocks(['g:4:3', counters('1/m')], ['g:6:3', counters('2/m')], ['g:10:3', counters('1/m')]));
    assert.deepEqual([...moved.keys()], ['g:4:3', 'g:6:3', 'g:10:3']);
    assert.deepEqual([...moved.values()], [a, b, c], 'blocks with the same settings are paired in file order');
  });

  it('lets a block changed in place keep its requests in flight, and its unchanged rate lines', () => {
    const limits = (cfg: object): LocalCounters => new LocalCounters(cfg as unknown as LimitConfig);
    const old = limits({ rate: [{ rate: '1/m', burst: 1 }], connections: { count: 1 } });
    assert.equal(old.take(0, 'k'), 0);
    const release = old.enter('k')!;
    const wider = limits({
      rate: [
        { rate: '1/m', burst: 1 },
        { rate: '5/m', burst: 1 },
      ],
      connections: { count: 2 },
    });
    carryOver(blocks(['g:3:3', old]), blocks(['g:3:3', wider]));
    assert.ok(wider.take(0, 'k') > 0, 'the unchanged rate line kept its spent bucket');
    assert.equal(wider.take(1, 'k'), 0, 'a new rate line starts afresh');
    assert.ok(wider.enter('k'), 'one in flight of two');
    assert.equal(wider.enter('k'), undefined, 'the request in flight before the reload still counts');
    release(); // the old worker's request ends
    assert.ok(wider.enter('k'), 'and its release reaches the new counts');
    const rekeyed = limits({ connections: { count: 1, key: { source: '$http_x_user' } } });
    carryOver(blocks(['g:3:3', old]), blocks(['g:3:3', rekeyed]));
    assert.ok(rekeyed.enter('k'), 'counts keyed otherwise start afresh');
  });

  it('starts afresh a changed block, and blocks it cannot pair for sure', () => {
    const a = counters('1/m'),
      b = counters('1/m');
    const before = blocks(['g:3:3', a], ['g:5:3', b]);
    const changed = counters('5/m');
    const out = carryOver(before, blocks(['g:3:3', changed], ['g:5:3', counters('1/m')]));
    assert.deepEqual([out.get('g:3:3'), out.get('g:5:3')], [changed, b], 'a block changed in place does not pass its counters on');
    const three = [counters('1/m'), counters('1/m'), counters('1/m')];
    const added = carryOver(before, blocks(['g:4:3', three[0]], ['g:6:3', three[1]], ['g:8:3', three[2]]));
    assert.deepEqual([...added.values()], three, 'three alike where there were two: which is new is unknown');
  });
});
