import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, constants, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { selfSigned } from '../../plugins/tls/self-signed.js';
import { checkGate, startGate, type TestGate } from '../helpers/gate.js';
import { h1Ask, h2Ask, h2Session } from '../helpers/h2-client.js';
import { echoClient, echoServer, unary, type EchoClient, type EchoServer, type Note } from './grpc-fixtures.js';
import { waitFor } from './proxy-upstreams.js';

describe('proxy to gRPC services (h2c:// and h2:// upstreams)', function () {
  this.timeout(15_000);
  let gate: TestGate | undefined;
  let service: EchoServer | undefined;
  let client: EchoClient | undefined;

  afterEach(async () => {
    client?.close();
    await gate?.close();
    await service?.close();
    gate = service = client = undefined;
  });

  async function behindGate(listen = 'h2c', extra = ''): Promise<EchoClient> {
    service = await echoServer();
    gate = await startGate(`server { listen 127.0.0.1:0 ${listen}; proxy h2c://127.0.0.1:${service.port} { ${extra} } }`);
    return (client = echoClient(`127.0.0.1:${gate.port}`));
  }

  it('passes a unary call through, metadata both ways and the status trailer', async () => {
    const c = await behindGate();
    const md = new grpc.Metadata();
    md.set('x-tag', 'via gatekit');
    let served: grpc.Metadata | undefined;
    const call = (cb: (e: grpc.ServiceError | null, r?: Note) => void) =>
      c.Say({ text: 'hello', count: 41 }, md, {}, cb).on('metadata', (m) => {
        served = m;
      });
    const answer = await unary<Note>(call);
    assert.deepEqual(answer, { text: 'hello (via gatekit)', count: 42 });
    assert.deepEqual(served?.get('x-served-by'), ['echo']);
    // a second call rides the same upstream session
    assert.equal((await unary<Note>((cb) => c.Say({ text: 'again' }, new grpc.Metadata(), {}, cb))).text, 'again');
  });

  it('streams a server-streaming answer, message by message, to its end', async () => {
    const c = await behindGate();
    const got: Note[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = c.Repeat({ text: 'tick', count: 200 });
      call.on('data', (n: Note) => got.push(n));
      call.on('error', reject);
      call.on('status', (s: grpc.StatusObject) => (s.code === grpc.status.OK ? resolve() : reject(new Error(s.details))));
    });
    assert.equal(got.length, 200);
    assert.deepEqual(got[199], { text: 'tick 199', count: 199 });
  });

  it('streams a client-streaming call upstream and passes its answer back', async () => {
    const c = await behindGate();
    const answer = await unary<Note>((cb) => {
      const call = c.Gather(cb);
      for (let i = 1; i <= 100; i++) call.write({ text: `n${i}`, count: i });
      call.end();
    });
    assert.equal(answer.count, 5050);
    assert.equal(answer.text.split(',').length, 100);
  });

  it('passes an error status and its message back (a trailers-only answer)', async () => {
    const c = await behindGate();
    const e = await unary<Note>((cb) => c.Fail({ text: 'x' }, cb)).then(
      () => assert.fail('Fail answered OK'),
      (err: grpc.ServiceError) => err,
    );
    assert.equal(e.code, grpc.status.NOT_FOUND);
    assert.equal(e.details, 'no such note: ünïcode too');
  });

  it('a deadline ends the call for the client and cancels it upstream', async () => {
    const c = await behindGate();
    const e = await unary<Note>((cb) => c.Stall({ text: 'wait' }, new grpc.Metadata(), { deadline: Date.now() + 300 }, cb)).then(
      () => assert.fail('Stall answered'),
      (err: grpc.ServiceError) => err,
    );
    assert.equal(e.code, grpc.status.DEADLINE_EXCEEDED);
    await waitFor(() => service!.cancelled === 1, 3000, 'the upstream call to be cancelled');
    // the gate and its upstream session still serve
    assert.equal((await unary<Note>((cb) => c.Say({ text: 'after' }, new grpc.Metadata(), {}, cb))).text, 'after');
  });

  it('an upstream that is down is UNAVAILABLE to the client (502) with one log line', async () => {
    service = await echoServer();
    const port = service.port;
    await service.close();
    gate = await startGate(`server { listen 127.0.0.1:0 h2c; proxy h2c://127.0.0.1:${port} }`);
    client = echoClient(`127.0.0.1:${gate.port}`);
    const c = client;
    const e = await unary<Note>((cb) => c.Say({ text: 'x' }, new grpc.Metadata(), {}, cb)).then(
      () => assert.fail('answered'),
      (err: grpc.ServiceError) => err,
    );
    assert.equal(e.code, grpc.status.UNAVAILABLE);
    assert.match(e.details, /502/);
    assert.equal(gate.logs.filter((l) => /upstream connect failed/.test(l) && l.includes('ECONNREFUSED')).length, 1);
  });

  it('h2:// keeps TLS to the upstream, behind a TLS listener', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatekit-grpc-tls-'));
    try {
      const pair = selfSigned(['localhost']);
      writeFileSync(join(dir, 'c.pem'), pair.cert);
      writeFileSync(join(dir, 'c.key'), pair.key);
      service = await echoServer(grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(pair.key), cert_chain: Buffer.from(pair.cert) }], false));
      gate = await startGate(`server { listen 127.0.0.1:0 tls; tls { cert ${dir}/c.pem; key ${dir}/c.key }
        proxy h2://127.0.0.1:${service.port} { tls_insecure } }`);
      client = echoClient(`localhost:${gate.port}`, grpc.credentials.createSsl(Buffer.from(pair.cert)));
      const c = client;
      assert.equal((await unary<Note>((cb) => c.Say({ text: 'secure', count: 1 }, new grpc.Metadata(), {}, cb))).count, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** H2Upstream is a plain node:http2 cleartext server with what it saw. */
interface H2Upstream {
  readonly server: Http2Server;
  readonly port: number;
  sessions: number;
  close(): Promise<void>;
}

async function h2Upstream(onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void): Promise<H2Upstream> {
  const server = createServer();
  const up = { server, port: 0, sessions: 0, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  const open = new Set<import('node:http2').ServerHttp2Session>();
  server.on('session', (s) => {
    up.sessions++;
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  server.on('stream', (stream, headers) => onStream(stream, headers));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.port = (server.address() as AddressInfo).port;
  up.close = () =>
    new Promise<void>((resolve) => {
      for (const s of open) s.destroy();
      server.close(() => resolve());
    });
  return up;
}

describe('proxy to an HTTP/2 upstream (h2c://), from HTTP/1.1 and HTTP/2 clients', function () {
  this.timeout(15_000);
  let gate: TestGate | undefined;
  let up: H2Upstream | undefined;
  afterEach(async () => {
    await gate?.close();
    await up?.close();
    gate = up = undefined;
  });

  /** echoing answers with what it read (the bytes themselves), the request's view in headers, and a trailer. */
  const echoing = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond(
        { ':status': 201, 'x-path': String(headers[':path']), 'x-authority': String(headers[':authority']), 'x-te': String(headers.te ?? '') },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': String(chunks.reduce((n, c) => n + c.length, 0)) }));
      stream.end(Buffer.concat(chunks));
    });
  };

  it('streams a large body up and back over one pooled session, with the trailers', async () => {
    up = await h2Upstream(echoing);
    gate = await startGate(`server { listen 127.0.0.1:0 h2c; proxy h2c://127.0.0.1:${up.port} { preserve_host off } }`);
    const body = Buffer.alloc(4 * 1024 * 1024, 'gatekit ');
    const session = await h2Session(`http://127.0.0.1:${gate.port}`);
    try {
      const answers = await Promise.all(
        [1, 2, 3].map((i) =>
          h2Ask(session, { method: 'POST', path: `/up/${i}?q=1`, headers: { te: 'trailers' }, body: [body.subarray(0, 1000), body.subarray(1000)] }),
        ),
      );
      for (const [i, a] of answers.entries()) {
        assert.equal(a.status, 201);
        assert.equal(a.headers['x-path'], `/up/${i + 1}?q=1`);
        assert.equal(a.headers['x-authority'], `127.0.0.1:${up.port}`);
        assert.equal(a.headers['x-te'], 'trailers');
        assert.ok(a.body.equals(body));
        assert.equal(a.trailers['x-checksum'], String(body.length));
      }
      const h1 = await h1Ask(`http://127.0.0.1:${gate.port}`, { method: 'POST', path: '/h1', body: 'from HTTP/1.1' });
      assert.equal(h1.status, 201);
      assert.equal(h1.body.toString(), 'from HTTP/1.1');
      assert.equal(up.sessions, 1);
    } finally {
      session.close();
    }
  });

  it('an upstream that fails mid-response resets the client stream, logs once, and the gate serves on', async () => {
    up = await h2Upstream((stream, headers) => {
      if (headers[':path'] === '/ok') {
        stream.respond({ ':status': 200 });
        stream.end('fine');
        return;
      }
      // half an answer, then the connection goes away with an error (a stream's own close would end it first)
      const session = stream.session!;
      session.on('error', () => {});
      stream.on('error', () => {});
      stream.respond({ ':status': 200 });
      stream.write('half', () => session.destroy(new Error('upstream crashed'), constants.NGHTTP2_INTERNAL_ERROR));
    });
    gate = await startGate(`server { listen 127.0.0.1:0 h2c; proxy h2c://127.0.0.1:${up.port} }`);
    const session = await h2Session(`http://127.0.0.1:${gate.port}`);
    try {
      const reset = await new Promise<number>((resolve) => {
        const s = session.request({ ':path': '/reset' });
        s.on('error', () => {});
        s.resume();
        s.on('close', () => resolve(s.rstCode ?? -1));
      });
      assert.equal(reset, constants.NGHTTP2_INTERNAL_ERROR); // not NO_ERROR: the client must not take half an answer for a whole one
      assert.equal(gate.logs.filter((l) => l.includes('upstream failed mid-response')).length, 1);
      assert.equal((await h2Ask(session, { path: '/ok' })).body.toString(), 'fine');
    } finally {
      session.close();
    }
  });
});

describe('proxy h2c:// and h2:// in a config', () => {
  it('accepts the schemes, and refuses an HTTP/1.1 health check of an HTTP/2 upstream at its position', async () => {
    assert.deepEqual(await checkGate('server { listen 127.0.0.1:0; proxy h2c://127.0.0.1:50051 h2://grpc.test }'), []);
    const [d, ...rest] = await checkGate('server { listen 127.0.0.1:0\n  proxy h2c://127.0.0.1:50051 { health_check /healthz }\n}');
    assert.equal(rest.length, 0);
    assert.deepEqual([d.code, d.span.line, d.span.col], ['GK_PROXY_HEALTH_H2', 2, 46]);
  });
});
