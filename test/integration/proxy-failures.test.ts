import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { directive, injectable, type Ctx, type Next, type Plugin, type AnyUnit } from '../../core/index.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { echo, send, upstream, waitFor, type TestUpstream } from './proxy-upstreams.js';

/** closedPort is a port nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const nameOf = (body: string): string => (JSON.parse(body) as { name: string }).name;

/** lateTurns tells the test when a request reached `late`, and when the chain after it settled. */
const lateTurns = { arrived: [] as (() => void)[], settled: [] as (() => void)[] };

/** late is a middleware that passes a request on only once its client has gone (a slow auth check, say). */
@injectable()
class LatePlugin implements Plugin {
  readonly name = 'late';
  readonly directives = [directive({ name: 'late', kind: 'middleware', doc: 'Pass on once the client has left', schema: {} })];
  create(): AnyUnit {
    return {
      handle: async (ctx: Ctx, next: Next) => {
        const left = once(ctx.res, 'close');
        lateTurns.arrived.shift()?.();
        await left;
        try {
          await next();
        } finally {
          lateTurns.settled.shift()?.();
        }
      },
    };
  }
}

describe('proxy: failures, timeouts and retries', () => {
  let gate: TestGate | undefined;
  let ups: TestUpstream[] = [];
  let extra: Server[] = [];
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await Promise.all(ups.map((u) => u.close()));
    ups = [];
    for (const s of extra) s.close();
    extra = [];
  });
  const start = async (...us: TestUpstream[]) => {
    ups.push(...us);
    return us;
  };

  it('answers 502 with a short body and logs one error line naming the upstream when it cannot connect', async () => {
    const port = await closedPort();
    gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${port} }`);
    const r = await send(gate.port, '/x');
    const id = /^502 Bad Gateway\nrequest id: (\w+)\n$/.exec(r.body)?.[1];
    assert.deepEqual([r.status, typeof id], [502, 'string'], r.body);
    const lines = gate.logs.filter((l) => l.includes(' error '));
    assert.equal(lines.length, 1, `one error line in all, not one from the proxy and one from the kernel:\n${gate.logs.join('\n')}`);
    assert.match(lines[0], new RegExp(`\\[proxy\\] upstream connect failed .*upstream=127\\.0\\.0\\.1:${port} request_id=${id} .*ECONNREFUSED`));
  });

  it('keeps answering when an upstream is killed mid-test, and marks it down', async () => {
    const [a, b] = await start(await upstream(echo('a')), await upstream(echo('b')));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} ${b.url} }`);
    const before = [];
    for (let i = 0; i < 4; i++) before.push(nameOf((await send(gate.port, '/')).body));
    assert.deepEqual(before.sort(), ['a', 'a', 'b', 'b']);
    await a.close();
    for (let i = 0; i < 6; i++) {
      const r = await send(gate.port, '/');
      assert.deepEqual([r.status, nameOf(r.body)], [200, 'b']);
    }
    assert.ok(
      gate.logs.some((l) => l.includes(`upstream marked down`) && l.includes(`upstream=127.0.0.1:${a.port}`)),
      gate.logs.join('\n'),
    );
  });

  it('answers 504 when the upstream is slow to answer, and aborts the upstream request', async () => {
    let aborted = false;
    const [a] = await start(
      await upstream((req) => {
        req.socket.on('close', () => {
          aborted = true;
        });
      }),
    );
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} { read_timeout 150ms } }`);
    const t0 = Date.now();
    const r = await send(gate.port, '/slow');
    assert.deepEqual([r.status, r.body.split('\n')[0]], [504, '504 Gateway Timeout']);
    assert.ok(Date.now() - t0 < 1500);
    await waitFor(() => aborted, 1000, 'the upstream request to be aborted');
    assert.ok(
      gate.logs.some((l) => /error \[proxy\] upstream timed out while reading the response .*upstream=127/.test(l)),
      gate.logs.join('\n'),
    );
  });

  it('answers 504 when connecting (TLS handshake included) takes longer than connect_timeout', async () => {
    const mute = createServer(() => {
      /* accept, never speak */
    });
    extra.push(mute);
    const held: Socket[] = [];
    mute.on('connection', (s) => held.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const { port } = mute.address() as { port: number };
    gate = await startGate(`server { listen 127.0.0.1:0; proxy https://127.0.0.1:${port} { connect_timeout 150ms } }`);
    const r = await send(gate.port, '/');
    assert.equal(r.status, 504);
    assert.ok(
      gate.logs.some((l) => l.includes('upstream timed out while connecting')),
      gate.logs.join('\n'),
    );
    for (const s of held) s.destroy();
  });

  it('answers 504 when the upstream stops taking the request body for send_timeout', async () => {
    const [a] = await start(
      await upstream(() => {
        /* never reads the body */
      }),
    );
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} { send_timeout 150ms } }`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: gate!.port, method: 'PUT', path: '/', agent: false, headers: { 'content-length': 256 * 1024 * 1024 } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', (e) => {
        if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
      });
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (!req.destroyed && req.write(chunk));
      };
      req.on('drain', pump);
      pump();
    });
    assert.equal(status, 504);
    assert.ok(
      gate.logs.some((l) => l.includes('upstream timed out while sending the request')),
      gate.logs.join('\n'),
    );
  });

  it('cuts the client connection when the upstream resets mid-body, and logs it', async () => {
    const [a] = await start(
      await upstream((req, res) => {
        res.writeHead(200, { 'content-length': 100_000 });
        res.write(Buffer.alloc(1000, 'x'), () => setTimeout(() => req.socket.destroy(), 20));
      }),
    );
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} }`);
    const outcome = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: gate!.port, path: '/', agent: false }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
        });
        res.on('end', () => resolve(`ended cleanly after ${got}`));
        res.on('error', () => resolve(`cut after ${got} bytes`));
      });
      req.on('error', (e) => resolve(`request error ${e.message}`));
      req.end();
    });
    assert.equal(outcome, 'cut after 1000 bytes');
    await waitFor(() => gate!.logs.some((l) => /error \[proxy\] upstream failed mid-response .*upstream=127/.test(l)), 1000, 'the error line');
  });

  it('aborts the upstream request when the client disconnects mid-response', async () => {
    let upstreamClosed = false;
    let ticks = 0;
    const [a] = await start(
      await upstream((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const t = setInterval(() => {
          ticks++;
          res.write('tick\n');
        }, 10);
        res.on('close', () => {
          clearInterval(t);
          upstreamClosed = true;
        });
      }),
    );
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} }`);
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gate!.port, path: '/stream', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (e) => {
        if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
      });
      req.end();
    });
    await waitFor(() => upstreamClosed, 1000, 'the upstream response to be aborted');
    assert.ok(ticks > 0);
    await waitFor(() => a.open.size === 0, 1000, 'the upstream connection to close');
  });

  it('aborts the upstream request when the client gives up before the response starts', async () => {
    let seen: IncomingMessage | undefined;
    let closed = false;
    const [a] = await start(
      await upstream((req) => {
        seen = req;
        req.on('close', () => {
          closed = true;
        });
      }),
    );
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} }`);
    const req = request({ host: '127.0.0.1', port: gate.port, path: '/', agent: false });
    req.on('error', () => {
      /* destroyed on purpose */
    });
    req.end();
    await waitFor(() => seen !== undefined, 1000, 'the upstream to get the request');
    req.destroy();
    await waitFor(() => closed, 1000, 'the upstream request to be aborted');
  });

  it('sends nothing upstream for a client that left before the proxy began, and holds nothing for it', async () => {
    const [a] = await start(await upstream(echo('a')));
    gate = await startGate(`server { listen 127.0.0.1:0; route / { late; proxy ${a.url} } }`, { plugins: [LatePlugin] });
    const arrived = new Promise<void>((r) => lateTurns.arrived.push(r));
    const settled = new Promise<void>((r) => lateTurns.settled.push(r));
    const req = request({ host: '127.0.0.1', port: gate.port, path: '/', agent: false });
    req.on('error', () => {
      /* destroyed on purpose */
    });
    req.end();
    await arrived;
    req.destroy();
    await settled;
    assert.deepEqual([a.connections, a.requests], [0, 0]);
    assert.ok(!gate.logs.some((l) => l.includes(' error ')), gate.logs.join('\n'));
  });

  it('retries an idempotent request that failed before any response byte on another upstream', async () => {
    const [bad, good] = await start(await upstream((req) => req.socket.destroy()), await upstream(echo('good')));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${bad.url} ${good.url} { balance first } }`);
    const r = await send(gate.port, '/');
    assert.deepEqual([r.status, nameOf(r.body)], [200, 'good']);
    assert.ok(
      gate.logs.some((l) => l.includes('warn [proxy] upstream failed before responding; trying another upstream')),
      gate.logs.join('\n'),
    );
  });

  it('does not retry a POST whose upstream failed after it was sent, but retries one that could not connect', async () => {
    const port = await closedPort();
    const [bad, good] = await start(await upstream((req) => req.on('data', () => req.socket.destroy())), await upstream(echo('good')));
    gate = await startGate(`server { listen 127.0.0.1:0
      route /sent { proxy ${bad.url} ${good.url} { balance first } }
      route /refused { proxy http://127.0.0.1:${port} ${good.url} { balance first } }
    }`);
    const sent = await send(gate.port, '/sent', { method: 'POST', body: 'payload' });
    assert.equal(sent.status, 502);
    const refused = await send(gate.port, '/refused', { method: 'POST', body: 'payload' });
    assert.equal(refused.status, 200);
    assert.equal(JSON.parse(refused.body).body, 'payload');
  });

  it('does not retry with retries 0', async () => {
    const port = await closedPort();
    const [good] = await start(await upstream(echo('good')));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${port} ${good.url} { balance first; retries 0 } }`);
    assert.equal((await send(gate.port, '/')).status, 502);
  });

  it('marks an upstream down after max_fails failures within the window, for fail_timeout', async () => {
    const [bad, good] = await start(await upstream((req) => req.socket.destroy()), await upstream(echo('good')));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${bad.url} ${good.url} { balance first; max_fails 2 within 10s; fail_timeout 300ms } }`);
    for (let i = 0; i < 2; i++) assert.equal((await send(gate.port, '/')).status, 200);
    assert.equal(bad.requests, 2);
    const downAt = Date.now();
    assert.ok(
      gate.logs.some((l) => l.includes('upstream marked down for 300ms after 2 failure(s)')),
      gate.logs.join('\n'),
    );
    assert.equal((await send(gate.port, '/')).status, 200);
    assert.equal(bad.requests, 2, 'a downed upstream gets no traffic');
    await waitFor(() => Date.now() - downAt > 350, 1000, 'fail_timeout to pass');
    assert.equal((await send(gate.port, '/')).status, 200);
    assert.equal(bad.requests, 3, 'tried again after fail_timeout');
  });

  it('sends no traffic to an upstream failing its active health check until it passes again', async () => {
    let aHealthy = true;
    const handler = (name: string) => (req: IncomingMessage, res: import('node:http').ServerResponse) => {
      if (req.url === '/healthz') {
        res.writeHead(name === 'a' && !aHealthy ? 503 : 200);
        res.end();
        return;
      }
      echo(name)(req, res);
    };
    const [a, b] = await start(await upstream(handler('a')), await upstream(handler('b')));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} ${b.url} { health_check /healthz { interval 30ms; timeout 500ms; expect 200 } } }`);
    aHealthy = false;
    await waitFor(() => gate!.logs.some((l) => l.includes('upstream failed its health check') && l.includes(`:${a.port}`)), 2000, 'a to fail its check');
    for (let i = 0; i < 6; i++) assert.equal(nameOf((await send(gate.port, '/')).body), 'b');
    aHealthy = true;
    await waitFor(() => gate!.logs.some((l) => l.includes('upstream passed its health check again')), 2000, 'a to pass again');
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) names.add(nameOf((await send(gate.port, '/')).body));
    assert.deepEqual([...names].sort(), ['a', 'b']);
  });

  it('answers 502 at once when no upstream is healthy', async () => {
    const [a] = await start(
      await upstream((_req, res) => {
        res.writeHead(500);
        res.end();
      }),
    );
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${a.url} { health_check /h { interval 20ms } } }`);
    await waitFor(() => gate!.logs.some((l) => l.includes('failed its health check')), 2000, 'the check to fail');
    const before = a.requests;
    assert.equal((await send(gate.port, '/')).status, 502);
    assert.ok(gate.logs.some((l) => l.includes('no upstream available')));
    assert.ok(a.requests - before <= 1, 'only health checks reached it');
  });
});
