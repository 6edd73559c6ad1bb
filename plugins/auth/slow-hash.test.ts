import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startGate, type TestGate } from '../../test/helpers/gate.js';
import { HashPool } from './hash-pool.js';
import { parseHash, type Hash } from './htpasswd.js';

// bcrypt at cost 11 ('open sesame'): a few hundred ms a check, on purpose.
const SLOW_HASH = '$2b$11$wTZuimQFFCm2Ttw1RLdYOu9PVyR7LnnOXfWllYY5AUKJ7dnQFwjr.';
const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;

/** Timed is a response's status and Retry-After, and when it came (ms since the test's clock started). */
interface Timed {
  readonly status: number;
  readonly retryAfter?: string;
  readonly at: number;
}

/** timed GETs `path` on its own connection and says when the answer came; `sent` resolves once the request is on the wire. */
function timed(port: number, path: string, t0: number, authorization?: string): Promise<Timed> & { sent: Promise<void> } {
  let req!: ReturnType<typeof request>;
  const done = new Promise<Timed>((resolve, reject) => {
    req = request({ host: '127.0.0.1', port, path, agent: false, headers: authorization ? { authorization } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], at: performance.now() - t0 }));
    });
    req.on('error', reject);
  });
  const sent = new Promise<void>((resolve) => req.once('finish', () => resolve()));
  req.end();
  return Object.assign(done, { sent });
}

describe('auth basic: slow hashes are checked off the event loop', function () {
  this.timeout(30_000); // real bcrypt work, a few hundred ms a check
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  const config = (options = ''): string => `server { listen 127.0.0.1:0
    route = /health { respond "ok" }
    route / { auth basic { user admin "${SLOW_HASH}"; max_failures 0; ${options} }; respond "in $user" }
  }`;

  it('answers an unrelated route while wrong passwords are being checked, and the right one still gets in', async () => {
    gate = await startGate(config());
    const port = gate.port;
    // one bcrypt check through gatekit, alone: the cost every comparison below is measured against
    const t = performance.now();
    assert.equal((await timed(port, '/', t, basic('admin:wrong'))).status, 401);
    const cost = performance.now() - t;
    const right = await timed(port, '/', performance.now(), basic('admin:open sesame'));
    assert.equal(right.status, 200);

    const t0 = performance.now();
    const wrong = Array.from({ length: 6 }, (_, i) => timed(port, '/', t0, basic(`admin:guess${i}`)));
    await Promise.all(wrong.map((w) => w.sent)); // the guesses are on the wire before /health is
    const health = await timed(port, '/health', t0);
    const again = await timed(port, '/', t0, basic('admin:open sesame')); // remembered: no new check
    const guesses = await Promise.all(wrong);
    assert.deepEqual(
      guesses.map((g) => g.status),
      [401, 401, 401, 401, 401, 401],
    );
    const firstGuess = Math.min(...guesses.map((g) => g.at));
    assert.equal(health.status, 200);
    assert.ok(health.at < firstGuess, `/health at ${health.at.toFixed(0)} ms, the first guess answered at ${firstGuess.toFixed(0)} ms`);
    assert.ok(health.at < cost / 2, `/health at ${health.at.toFixed(0)} ms; one bcrypt check costs ${cost.toFixed(0)} ms`);
    assert.equal(again.status, 200);
    assert.ok(again.at < firstGuess, 'a remembered success does not wait behind the guesses');
  });

  it('answers 503 with Retry-After at once beyond max_checks in flight, and never remembers a failure', async () => {
    gate = await startGate(config('max_checks 2'));
    const port = gate.port;
    const t0 = performance.now();
    const all = await Promise.all(Array.from({ length: 6 }, (_, i) => timed(port, '/', t0, basic(`admin:guess${i}`))));
    const refused = all.filter((r) => r.status === 503);
    const checked = all.filter((r) => r.status === 401);
    assert.equal(checked.length + refused.length, 6, all.map((r) => r.status).join(' '));
    assert.ok(refused.length >= 1 && checked.length >= 2, all.map((r) => r.status).join(' '));
    for (const r of refused) assert.equal(r.retryAfter, '1');
    assert.ok(Math.max(...refused.map((r) => r.at)) < Math.min(...checked.map((r) => r.at)), 'refused before any check ends');
    // the same wrong password again is checked again (401), never answered from memory
    const t1 = performance.now();
    const twice = await timed(port, '/', t1, basic('admin:guess0'));
    assert.equal(twice.status, 401);
    assert.equal((await timed(port, '/', t1, basic('admin:open sesame'))).status, 200);
  });
});

describe('auth: HashPool', () => {
  let pool: HashPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('checks on up to `size` threads, reports a failed check, and ends its threads on close', async () => {
    pool = new HashPool(2);
    assert.equal(pool.running, 0, 'no thread before the first check');
    const apr1 = parseHash('$apr1$yNcHaanG$amECVKZGlbITXVUymkW6S1') as Hash;
    const checks = await Promise.all([pool.verify('builder', apr1), pool.verify('nope', apr1), pool.verify('builder', apr1)]);
    assert.deepEqual(checks, [true, false, true]);
    assert.equal(pool.running, 2);
    await assert.rejects(pool.verify(undefined as unknown as string, parseHash(SLOW_HASH) as Hash), /password check failed/);
    await pool.close();
    assert.equal(pool.running, 0);
    await assert.rejects(pool.verify('builder', apr1), /closed/);
  });
});
