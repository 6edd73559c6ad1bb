import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { checkGate, startGate, type TestGate } from '../helpers/gate.js';
import { echo, send, upstream, waitFor, type TestUpstream } from './proxy-upstreams.js';

const nameOf = (body: string): string => (JSON.parse(body) as { name: string }).name;

function counts(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

describe('proxy: load balancing', () => {
  let gate: TestGate | undefined;
  let ups: TestUpstream[] = [];
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await Promise.all(ups.map((u) => u.close()));
    ups = [];
  });
  const three = async () => (ups = [await upstream(echo('a')), await upstream(echo('b')), await upstream(echo('c'))]);
  const names = async (n: number, o: Parameters<typeof send>[2] = {}) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(nameOf((await send(gate!.port, '/', o)).body));
    return out;
  };

  it('round_robin spreads requests by weight, smoothly', async () => {
    const [a, b, c] = await three();
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} { upstream ${b.url} { weight 3 }; upstream ${c.url} } }`);
    const got = await names(10);
    assert.deepEqual(counts(got), { a: 2, b: 6, c: 2 });
    assert.ok(!got.join('').includes('bbb'), `bursty: ${got.join('')}`);
  });

  it('least_conn sends new requests away from a busy upstream', async () => {
    let release: (() => void) | undefined;
    const slowA = await upstream((req, res: ServerResponse) => {
      if (req.url === '/hold') {
        release = () => res.end('{"name":"a"}');
        return;
      }
      echo('a')(req, res);
    });
    ups = [slowA, await upstream(echo('b'))];
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${slowA.url} ${ups[1].url} { balance least_conn } }`);
    // The first request goes to a (ties rotate from the first), and stays in flight.
    const held = send(gate.port, '/hold');
    await waitFor(() => release !== undefined, 1000, 'a to hold a request');
    assert.deepEqual(await names(4), ['b', 'b', 'b', 'b']);
    release!();
    assert.equal(nameOf((await held).body), 'a');
  });

  it('ip_hash keeps a client on one upstream and spreads clients', async () => {
    const [a, b, c] = await three();
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} ${b.url} ${c.url} { balance ip_hash } }`);
    const seen = new Set<string>();
    for (let i = 1; i <= 40; i++) {
      // 40 clients miss one of 3 upstreams with odds ~1e-7
      const mine = await names(2, { localAddress: `127.0.0.${i}` });
      assert.equal(new Set(mine).size, 1, `127.0.0.${i} moved: ${mine.join(',')}`);
      seen.add(mine[0]);
    }
    assert.equal(seen.size, 3);
  });

  it('ip_hash moves only the clients of an upstream that goes down', async () => {
    const [a, b, c] = await three();
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} ${b.url} ${c.url} { balance ip_hash } }`);
    const before = new Map<string, string>();
    for (let i = 1; i <= 12; i++) before.set(`127.0.0.${i}`, (await names(1, { localAddress: `127.0.0.${i}` }))[0]);
    await b.close();
    for (const [ip, was] of before) {
      const now = (await names(1, { localAddress: ip }))[0];
      if (was !== 'b') assert.equal(now, was, `${ip} moved from ${was} to ${now}`);
      else assert.notEqual(now, 'b');
    }
  });

  it('random reaches every upstream', async () => {
    const [a, b, c] = await three();
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} ${b.url} ${c.url} { balance random } }`);
    assert.deepEqual(Object.keys(counts(await names(60))).sort(), ['a', 'b', 'c']);
  });

  it('first sends everything to the first available upstream, and fails over', async () => {
    const [a, b, c] = await three();
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} ${b.url} ${c.url} { balance first } }`);
    assert.deepEqual(await names(3), ['a', 'a', 'a']);
    await a.close();
    assert.deepEqual(await names(3), ['b', 'b', 'b']);
  });

  describe('balance cookie (sticky sessions)', () => {
    let other: TestGate | undefined;
    afterEach(async () => {
      await other?.close();
      other = undefined;
    });
    const conf = (a: string, b: string, c: string, extra = ''): string =>
      `server { listen 127.0.0.1:0; proxy ${a} ${b} ${c} { balance cookie lb { secret s3cret${extra} }; max_fails 0 } }`;
    const cookieOf = (r: { headers: Record<string, string | string[] | undefined> }): string | undefined => {
      const set = r.headers['set-cookie'];
      return set ? /^lb=([^;]+)/.exec(String(set))?.[1] : undefined;
    };

    it('keeps a client on the upstream its signed cookie names, on every instance with the same secret', async () => {
      const [a, b, c] = await three();
      gate = await startGate(conf(a.url, b.url, c.url, '; max_age 1h'));
      other = await startGate(conf(a.url, b.url, c.url, '; max_age 1h'));
      const first = await send(gate.port, '/');
      const value = cookieOf(first);
      assert.ok(value, `no cookie: ${String(first.headers['set-cookie'])}`);
      assert.match(String(first.headers['set-cookie']), /^lb=[\w-]{22}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=3600$/);
      assert.ok(!String(first.headers['set-cookie']).includes(String(a.port)), 'the cookie names no address');
      const home = nameOf(first.body);
      const cookie = { cookie: `other=1; lb=${value}` };
      for (const port of [gate.port, other.port, gate.port, other.port, gate.port]) {
        const r = await send(port, '/', { headers: cookie });
        assert.equal(nameOf(r.body), home);
        assert.equal(r.headers['set-cookie'], undefined, 'a client already on its upstream gets no new cookie');
      }
      const fresh = await names(6);
      assert.ok(new Set(fresh).size > 1, `clients without the cookie are spread: ${fresh.join('')}`);
    });

    it('a forged cookie or one from another secret gets a fresh pick; a dead upstream moves the client, with a new cookie', async () => {
      const [a, b, c] = await three();
      gate = await startGate(conf(a.url, b.url, c.url));
      const forged = await send(gate.port, '/', { headers: { cookie: 'lb=AAAAAAAAAAAAAAAAAAAAAA' } });
      assert.ok(cookieOf(forged));
      const value = cookieOf(forged)!;
      const home = ups.find((u) => u.requests === 1)!; // the one upstream that served the forged request
      await home.close();
      const moved = await send(gate.port, '/', { headers: { cookie: `lb=${value}` } });
      assert.equal(moved.status, 200);
      assert.notEqual(nameOf(moved.body), nameOf(forged.body));
      assert.ok(cookieOf(moved) && cookieOf(moved) !== value, 'the client is told its new upstream');
      ups = ups.filter((u) => u !== home);
    });

    it('refuses balance cookie without a name, and a cookie name with other policies', async () => {
      const codes = async (text: string): Promise<string[]> => (await checkGate(text)).map((d) => `${d.code} ${d.span.line}:${d.span.col}`);
      assert.deepEqual(await codes('server { listen 80; proxy http://a http://b { balance cookie } }'), ['GK_PROXY_BALANCE 1:55']);
      assert.deepEqual(await codes('server { listen 80; proxy http://a http://b { balance round_robin lb } }'), ['GK_PROXY_BALANCE 1:55']);
      assert.deepEqual(await codes('server { listen 80; proxy http://a http://b { balance cookie "a b" } }'), ['GK_PROXY_BALANCE 1:62']);
    });
  });
});
