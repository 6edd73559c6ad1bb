import assert from 'node:assert/strict';
import { arg, directive, injectable, HttpError, type Ctx, type Next, type Plugin, type Unit } from '../../core/index.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawRequest } from '../helpers/raw-http.js';

/** EchoPlugin: `echo_upgrade` takes WebSocket-like upgrades and echoes bytes; `need_token` refuses without one. */
@injectable()
class EchoPlugin implements Plugin {
  readonly name = 'echo';
  readonly directives = [
    directive({ name: 'echo_upgrade', kind: 'handler', doc: 'echo', schema: {} }),
    directive({ name: 'need_token', kind: 'middleware', doc: 'token', schema: { args: [arg.string('token')] } }),
  ];
  create(d: string, config: unknown): Unit {
    if (d === 'need_token') {
      const { token } = config as { token: string };
      return { handle: async (ctx: Ctx, next: Next) => { if (ctx.req.headers['x-token'] !== token) throw new HttpError(401); await next(); } };
    }
    return {
      handle: async (ctx: Ctx) => {
        if (!ctx.upgrade) { await ctx.send(426, 'upgrade required\n'); return; }
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
  afterEach(async () => { await gate?.close(); gate = undefined; });

  const upgrade = (path: string, extra = ''): string =>
    `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n${extra}\r\nhello`;

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
