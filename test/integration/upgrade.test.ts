import assert from 'node:assert/strict';
import { arg, directive, injectable, HttpError, type Ctx, type Next, type Plugin, type AnyUnit } from '../../core/index.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawRequest } from '../helpers/raw-http.js';
import { send, upstream, waitFor, type TestUpstream } from './proxy-upstreams.js';

/** EchoPlugin: `echo_upgrade` takes WebSocket-like upgrades and echoes bytes; `need_token` refuses without one. */
@injectable()
class EchoPlugin implements Plugin {
  readonly name = 'echo';
  readonly directives = [
    directive({ name: 'echo_upgrade', kind: 'handler', doc: 'echo', schema: {} }),
    directive({ name: 'need_token', kind: 'middleware', doc: 'token', schema: { args: [arg.string('token')] } }),
  ];
  create(d: string, config: unknown): AnyUnit {
    if (d === 'need_token') {
      const { token } = config as { token: string };
      return {
        handle: async (ctx: Ctx, next: Next) => {
          if (ctx.req.headers['x-token'] !== token) throw new HttpError(401);
          await next();
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

describe('upgrade requests', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  const upgrade = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n${extra}\r\nhello`;

  it('routes them through middleware to a handler that takes the connection over', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; route /ws { need_token s3cret; echo_upgrade }; respond "plain" }', { plugins: [EchoPlugin] });
    const ok = await rawRequest(gate.port, upgrade('/ws', 'X-Token: s3cret\r\n'), 300);
    assert.equal(ok.status, 101);
    assert.match(ok.text, /\r\n\r\nhello$/);
    const refused = await rawRequest(gate.port, upgrade('/ws'));
    assert.equal(refused.status, 401);
    assert.equal(refused.closed, true);
  });

  it('answers an upgrade to a handler that does not upgrade with a plain response, then closes', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; route /ws { echo_upgrade }; respond "plain" }', { plugins: [EchoPlugin] });
    const plain = await rawRequest(gate.port, upgrade('/other'));
    assert.equal(plain.status, 200);
    assert.match(plain.text, /plain$/);
    assert.equal(plain.closed, true);
    const noUpgrade = await fetch(gate.url('/ws'));
    assert.equal(noUpgrade.status, 426);
  });
});

describe('requests that ask for an upgrade their handler does not take', () => {
  let gate: TestGate | undefined;
  let up: TestUpstream | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await up?.close();
    up = undefined;
  });

  /** seen lists what a pooled upstream received: each request's method, path and the body it read. */
  const pooledUpstream = async (seen: string[]): Promise<TestUpstream> =>
    upstream((req, res) => {
      res.end(`ok ${req.url}`); // answers before reading the body, as many applications do
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('latin1');
      });
      req.on('end', () => seen.push(`${req.method} ${req.url} ${JSON.stringify(body)}`));
    });

  it('frames the body of an h2c upgrade as HTTP/1.1 does, so a pooled upstream connection cannot be smuggled into', async () => {
    const seen: string[] = [];
    up = await pooledUpstream(seen);
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${up.url} }`);
    const lengthed = await rawRequest(
      gate.port,
      'POST /a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 11\r\n\r\nhello=world',
    );
    assert.equal(lengthed.status, 200);
    assert.ok(lengthed.text.endsWith('ok /a'), lengthed.text);
    assert.equal(lengthed.closed, true, 'the connection closes after the answer');
    const next = await send(gate.port, '/b');
    assert.deepEqual([next.status, next.body], [200, 'ok /b']);
    const chunked = await rawRequest(
      gate.port,
      'POST /c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    assert.equal(chunked.status, 200);
    assert.deepEqual((await send(gate.port, '/d')).body, 'ok /d');
    await waitFor(() => seen.length === 4, 2000, 'four requests upstream');
    assert.deepEqual(seen, ['POST /a "hello=world"', 'GET /b ""', 'POST /c "hello"', 'GET /d ""']);
    assert.equal(up.connections, 1, 'every request went over the one pooled connection');
  });

  it('serves no request pipelined after one that asked for an upgrade, and closes the connection', async () => {
    const seen: string[] = [];
    up = await pooledUpstream(seen);
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ${up.url} }`);
    const r = await rawRequest(
      gate.port,
      'POST /a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 5\r\n\r\nhelloGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.equal(r.closed, true);
    assert.equal(r.text.match(/HTTP\/1\.1 /g)?.length, 1, r.text);
    await waitFor(() => seen.length === 1, 2000, 'the first request upstream');
    assert.deepEqual((await send(gate.port, '/after')).body, 'ok /after');
    assert.deepEqual(seen, ['POST /a "hello"', 'GET /after ""']);
  });

  it('gives a handler that takes the protocol an ordinary request when the upgrade carries a body', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; route /ws { echo_upgrade } }', { plugins: [EchoPlugin] });
    const r = await rawRequest(gate.port, 'POST /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\nContent-Length: 5\r\n\r\nhello');
    assert.equal(r.status, 426);
    assert.equal(r.closed, true);
  });
});
