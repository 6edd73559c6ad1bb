import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawRequest, rawUntil } from '../helpers/raw-http.js';
import { send, waitFor } from './proxy-upstreams.js';

/** RawUpstream is a TCP server whose answers are written byte for byte by the test. */
interface RawUpstream {
  readonly port: number;
  /** connections counts accepted connections, closed those closed since; requests counts request heads seen. */
  readonly stats: { connections: number; closed: number; requests: number };
  close(): Promise<void>;
}

/**
 * rawUpstream calls `answer` with each request head it reads (body bytes are read and dropped)
 * and the socket, plus which request on that connection it is (0 for the first).
 */
async function rawUpstream(answer: (head: string, s: Socket, nth: number) => void): Promise<RawUpstream> {
  const stats = { connections: 0, closed: 0, requests: 0 };
  const open = new Set<Socket>();
  const server: Server = createServer((s) => {
    stats.connections++;
    open.add(s);
    s.on('close', () => {
      open.delete(s);
      stats.closed++;
    });
    s.on('error', () => {});
    let buf = '';
    let nth = 0;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = '';
        stats.requests++;
        answer(head, s, nth++);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    stats,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('proxy: what upstreams put on the wire', () => {
  let gate: TestGate | undefined;
  let up: RawUpstream | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await up?.close();
    up = undefined;
  });
  const front = async (u: RawUpstream): Promise<TestGate> =>
    (gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${u.port} { retries 0 } }`));

  it('answers 502 and logs why when the upstream sends a malformed response, and keeps serving', async () => {
    up = await rawUpstream((head, s) => {
      if (head.startsWith('GET /bad')) s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const g = await front(up);
    const r = await send(g.port, '/bad');
    assert.deepEqual([r.status, r.body.split('\n')[0]], [502, '502 Bad Gateway']);
    const line = g.logs.find((l) => l.includes('[proxy]') && l.includes(' error '));
    assert.match(line ?? g.logs.join('\n'), new RegExp(`upstream failed before responding .*upstream=127\\.0\\.0\\.1:${up.port} .*invalid Content-Length`));
    assert.deepEqual([(await send(g.port, '/good')).status, (await send(g.port, '/good')).body], [200, 'ok']);
  });

  it('retries on a fresh connection when a kept-alive one turns out closed, without a failed request', async () => {
    up = await rawUpstream((_head, s, nth) => {
      if (nth === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else s.destroy(); // the upstream dropped the idle connection just as gatekit reused it
    });
    const g = await front(up);
    for (let i = 0; i < 3; i++) assert.deepEqual([(await send(g.port, '/')).body], ['ok']);
    assert.equal(up.stats.connections, 3);
    assert.ok(!g.logs.some((l) => l.includes(' error ')), g.logs.join('\n'));
  });

  it('frames by Transfer-Encoding when the upstream also sends Content-Length, and sends a repeated length once', async () => {
    up = await rawUpstream((head, s) => {
      if (head.startsWith('GET /both')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\ntwice');
    });
    const g = await front(up);
    const both = await send(g.port, '/both');
    assert.deepEqual([both.status, both.headers['content-length'], both.body], [200, undefined, 'hello']);
    const r = await rawRequest(g.port, 'GET /twice HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(r.text, /\r\ncontent-length: 5\r\n/i);
    assert.doesNotMatch(r.text, /5, 5/);
  });

  it('drops a Trailer header it cannot honour (a length-framed answer), rather than fail', async () => {
    up = await rawUpstream((_head, s) => s.write('HTTP/1.1 200 OK\r\nTrailer: X-T\r\nContent-Length: 2\r\n\r\nok'));
    const g = await front(up);
    const r = await send(g.port, '/');
    assert.deepEqual([r.status, r.body, r.headers.trailer], [200, 'ok', undefined]);
  });

  it('answers 502 at once to a response head ended by bare LFs', async () => {
    up = await rawUpstream((_head, s) => s.write('HTTP/1.1 200 OK\nX-F: a\nContent-Length: 2\n\nok'));
    const g = await front(up);
    const started = Date.now();
    assert.equal((await send(g.port, '/', { ms: 5000 })).status, 502);
    assert.ok(Date.now() - started < 2000, 'not after read_timeout');
  });

  it('does not send a POST again when a kept-alive connection fails under it (the upstream may have read it)', async () => {
    up = await rawUpstream((_head, s, nth) => {
      if (nth === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else s.destroy();
    });
    const g = await front(up);
    assert.equal((await send(g.port, '/')).body, 'ok');
    assert.equal((await send(g.port, '/form', { method: 'POST' })).status, 502);
    assert.equal(up.stats.requests, 2, 'the POST reached the upstream once');
  });

  it('sends the authority of an absolute-form target upstream as Host, not the Host beside it', async () => {
    up = await rawUpstream((head, s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(head)}\r\n\r\n${head}`));
    const g = await front(up);
    const r = await rawRequest(g.port, 'GET http://public.test:8080/echo HTTP/1.1\r\nHost: admin.internal\r\nConnection: close\r\n\r\n');
    assert.match(r.text, /\r\nHost: public\.test:8080\r\n/);
    assert.match(r.text, /\r\nX-Forwarded-Host: public\.test:8080\r\n/);
    assert.doesNotMatch(r.text, /admin\.internal/);
  });

  it('puts decoded variables beyond ASCII into header_up and header_down percent-encoded, not a 502', async () => {
    up = await rawUpstream((head, s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(head)}\r\n\r\n${head}`));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${up.port} { header_up X-Up $arg_v; header_down X-Down $arg_v } }`);
    const r = await send(gate.port, '/?v=%E2%82%AC');
    assert.deepEqual([r.status, r.headers['x-down']], [200, '%E2%82%AC']);
    assert.match(r.body, /\r\nX-Up: %E2%82%AC(\r\n|$)/i);
  });

  it('strips a route prefix the client spelled with escapes', async () => {
    up = await rawUpstream((head, s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${head.indexOf('\r\n')}\r\n\r\n${head.slice(0, head.indexOf('\r\n'))}`));
    gate = await startGate(`server { listen 127.0.0.1:0; route /api/ { proxy http://127.0.0.1:${up.port} { strip_prefix } } }`);
    for (const [sent, got] of [
      ['/%61pi/hello', '/hello'],
      ['/api%2Fhello', '/hello'],
      ['/api/a%2Fb', '/a%2Fb'],
      ['/%61pi/', '/'],
    ]) {
      assert.equal((await send(gate.port, sent)).body, `GET ${got} HTTP/1.1`, sent);
    }
  });

  it('carries WebSocket upgrades only: another Upgrade goes upstream as a plain request', async () => {
    up = await rawUpstream((head, s) => {
      if (/\r\nupgrade:/i.test(head)) s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain');
    });
    const g = await front(up);
    const r = await rawRequest(
      g.port,
      'GET /h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
    );
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(r.text.endsWith('\r\n\r\nplain'), r.text);
  });

  it('passes an early answer (413 before the upload is read) whole', async () => {
    up = await rawUpstream((_head, s) => s.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!', () => s.end()));
    const g = await front(up);
    const r = await send(g.port, '/upload', { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024, 'x'), ms: 5000 });
    assert.deepEqual([r.status, r.body], [413, 'big!']);
  });

  it('passes 103 Early Hints on to HTTP/1.1 clients, then the final answer', async () => {
    up = await rawUpstream((_head, s) =>
      s.write(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nX-Other: no\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal',
      ),
    );
    const g = await front(up);
    const r = await rawUntil(g.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', (t) => t.endsWith('final'));
    assert.match(r.text, /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/a\.css>; rel=preload\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.ok(r.text.endsWith('\r\n\r\nfinal'), r.text);
    assert.doesNotMatch(r.text, /X-Other|100 Continue/);
    const old = await rawUntil(g.port, 'GET / HTTP/1.0\r\nHost: x\r\n\r\n', (t) => t.endsWith('final'));
    assert.match(old.text, /^HTTP\/1\.1 200 OK\r\n/, 'an HTTP/1.0 client gets no 1xx answer');
  });

  it('passes a body that runs until the upstream closes, chunked to the client, and opens a new connection next time', async () => {
    up = await rawUpstream((_head, s) => {
      s.write('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ');
      setTimeout(() => s.end('close'), 20);
    });
    const g = await front(up);
    const r = await send(g.port, '/');
    assert.deepEqual([r.status, r.headers['transfer-encoding'], r.body], [200, 'chunked', 'until close']);
    await send(g.port, '/');
    assert.equal(up.stats.connections, 2);
  });

  it('does not reuse a connection that sent bytes past the end of its response', async () => {
    up = await rawUpstream((_head, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK'));
    const g = await front(up);
    assert.equal((await send(g.port, '/')).body, 'ok');
    assert.equal((await send(g.port, '/')).body, 'ok');
    assert.equal(up.stats.connections, 2);
  });

  it('answers 502 when the upstream closes mid-body, cutting the client connection', async () => {
    up = await rawUpstream((_head, s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    const g = await front(up);
    await assert.rejects(send(g.port, '/'));
    assert.ok(
      g.logs.some((l) => /error \[proxy\] upstream failed mid-response .*closed the connection mid-response/.test(l)),
      g.logs.join('\n'),
    );
  });

  it('points redirects that name the upstream at the address the client used, under the stripped prefix', async () => {
    up = await rawUpstream((head, s) => {
      const path = head.split(' ')[1];
      const to = path === '/away' ? 'http://elsewhere.test/x' : `http://127.0.0.1:${up!.port}/login?next=${encodeURIComponent(path)}`;
      s.write(`HTTP/1.1 302 Found\r\nLocation: ${to}\r\nContent-Length: 0\r\n\r\n`);
    });
    gate = await startGate(`server { listen 127.0.0.1:0
      route /app/ { proxy http://127.0.0.1:${up.port} { strip_prefix } }
      route /raw/ { proxy http://127.0.0.1:${up.port} { rewrite_location off } }
    }`);
    const at = async (path: string, host: string): Promise<string | undefined> => (await send(gate!.port, path, { headers: { host } })).headers.location;
    assert.equal(await at('/app/admin', 'site.test:8443'), 'http://site.test:8443/app/login?next=%2Fadmin');
    assert.equal(await at('/app/away', 'site.test'), 'http://elsewhere.test/x');
    assert.equal(await at('/raw/admin', 'site.test'), `http://127.0.0.1:${up.port}/login?next=%2Fraw%2Fadmin`);
  });

  it('closes a kept-alive connection after keepalive_timeout idle, and opens a new one after', async () => {
    up = await rawUpstream((_head, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${up.port} { keepalive_timeout 150ms } }`);
    assert.equal((await send(gate.port, '/')).body, 'ok');
    assert.equal((await send(gate.port, '/')).body, 'ok');
    assert.deepEqual([up.stats.connections, up.stats.closed], [1, 0], 'reused while fresh');
    await waitFor(() => up!.stats.closed === 1, 1500, 'the idle connection to close');
    assert.equal((await send(gate.port, '/')).body, 'ok');
    assert.equal(up.stats.connections, 2);
  });

  it('keeps request-variable header values from ending their header line', async () => {
    let seen = '';
    up = await rawUpstream((head, s) => {
      seen = head;
      s.write('HTTP/1.1 204 No Content\r\n\r\n');
    });
    gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${up.port} { header_up set X-Q "$arg_q" } }`);
    assert.equal((await send(gate.port, '/?q=a%0d%0aInjected:%20yes')).status, 204);
    assert.doesNotMatch(seen, /\r\nInjected:/i);
    assert.match(seen, /\r\nX-Q: a(%0d%0a|\s\s|)Injected:(%20| )yes(\r\n|$)/i);
  });
});
