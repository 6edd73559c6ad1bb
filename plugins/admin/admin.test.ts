import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { WorkerStats } from '../../core/index.js';
import { isLoopback, sameOrigin, TokenCheck } from './access.js';
import { History, quantile } from './history.js';
import { mergeUpstreams } from './status.js';

const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;
const tcp = (host: string | undefined): Parameters<typeof isLoopback>[0] => ({
  kind: 'tcp',
  port: 2019,
  text: `${host ?? ''}:2019`,
  ...(host === undefined ? {} : { host }),
});

/** worker makes a WorkerStats with one route's counts. */
function worker(pid: number, buckets: number[], byClass = [0, 0, buckets.reduce((a, b) => a + b, 0), 0, 0, 0]): WorkerStats {
  return {
    pid,
    generation: 1,
    rssBytes: 0,
    cpuSeconds: 0,
    loopDelayMs: { p50: 0, p99: 0, max: 0 },
    units: [],
    traffic: { requests: 0, inFlight: 0, listeners: [], routes: [{ server: 's', route: '/', byClass, buckets, durationSum: 0, bytesOut: 0 }] },
  };
}

describe('admin', () => {
  it('tells loopback addresses and unix sockets from the rest', () => {
    assert.deepEqual(
      ['127.0.0.1', '127.1.2.3', '[::1]', 'localhost', '0.0.0.0', '10.0.0.1', '::', undefined].map((h) => isLoopback(tcp(h))),
      [true, true, true, true, false, false, false, false],
    );
    assert.equal(isLoopback({ kind: 'unix', path: '/run/a.sock', text: 'unix:/run/a.sock' }), true);
  });

  it('checks the bearer token, and the Origin of changes', () => {
    const t = new TokenCheck('s3cret-token-of-16+');
    assert.deepEqual(
      [t.allows(req({})), t.allows(req({ authorization: 'Bearer nope' })), t.allows(req({ authorization: 'bearer s3cret-token-of-16+' }))],
      [false, false, true],
    );
    assert.equal(new TokenCheck(undefined).allows(req({})), true);
    assert.deepEqual(
      [
        sameOrigin(req({ host: '127.0.0.1:2019' })),
        sameOrigin(req({ host: '127.0.0.1:2019', origin: 'http://127.0.0.1:2019' })),
        sameOrigin(req({ host: '127.0.0.1:2019', origin: 'http://evil.example' })),
        sameOrigin(req({ host: '127.0.0.1:2019', origin: 'null' })),
      ],
      [true, true, false, false],
    );
  });

  it('estimates quantiles from histogram buckets as Prometheus does', () => {
    // DURATION_BUCKETS start 0.001, 0.0025, 0.005: 10 requests in the second bucket
    assert.equal(quantile(0.5, [0, 10, 0]), 0.001 + 0.0015 * 0.5);
    assert.equal(quantile(0.99, [90, 10]), 0.001 + 0.0015 * 0.9);
    assert.equal(quantile(0.5, [0, 0, 0]), null);
  });

  it('turns successive samples into per-second rates, per worker', () => {
    const h = new History();
    assert.equal(h.add(1000, [worker(1, [1, 0]), worker(2, [2, 0])]), undefined);
    const p = h.add(3000, [worker(1, [11, 0]), worker(2, [2, 10])]);
    assert.deepEqual(p?.routes['s\t/'], { rps: 10, p50: quantile(0.5, [10, 10]), p99: quantile(0.99, [10, 10]), codes: { '2xx': 20 } });
    const gone = h.add(4000, [worker(1, [12, 0])]); // worker 2 left: only worker 1's new request counts
    assert.equal(gone?.routes['s\t/'].rps, 1);
  });

  it('sees an upstream healthy only when every worker does', () => {
    const up = (healthy: boolean, requests: number): WorkerStats => ({
      ...worker(1, []),
      units: [
        {
          upstreams: [
            {
              id: 'a:1',
              proxy: 'x.gate:3',
              healthy,
              ...(healthy ? {} : { reason: 'health check: 500' }),
              drained: false,
              inFlight: 1,
              requests,
              failures: 0,
              latencySum: requests * 0.01,
            },
          ],
        },
      ],
    });
    const [m] = mergeUpstreams([up(true, 2), up(false, 8)]);
    assert.deepEqual([m.healthy, m.reason, m.inFlight, m.requests, Math.round(m.meanLatencySeconds * 1000)], [false, 'health check: 500', 2, 10, 10]);
  });
});
