import assert from 'node:assert/strict';
import { startGate, type TestGate } from '../helpers/gate.js';
import { ASGI_FILE, hasPython3, openWs, waitForLog } from './asgi-gate.js';

describe('asgi WebSockets', function () {
  this.timeout(20_000);
  let gate: TestGate | undefined;
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed: the asgi plugin runs real Python processes */
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });
  const start = async (): Promise<TestGate> =>
    (gate ??= await startGate(
      `server { listen 127.0.0.1:0
      route /mnt/ { asgi apps:application { workers 2 } }
    }`,
      { file: ASGI_FILE },
    ));
  const wsUrl = (g: TestGate, path: string): string => g.url(path).replace(/^http/, 'ws');

  it('accepts with the chosen subprotocol and headers, and relays text and binary both ways', async () => {
    const g = await start();
    const c = await openWs(wsUrl(g, '/mnt/ws?room=1'), ['chat', 'superchat']);
    assert.equal(c.ws.protocol, 'superchat');
    c.ws.send('hi');
    assert.equal(await c.next(), 'echo: hi');
    c.ws.send(Buffer.from([1, 2, 3]));
    assert.deepEqual(await c.next(), Buffer.from([3, 2, 1]));
    c.ws.send('scope');
    const scope = JSON.parse((await c.next()) as string) as Record<string, unknown>;
    assert.deepEqual([scope.type, scope.scheme, scope.path, scope.root_path, scope.query_string], ['websocket', 'ws', '/mnt/ws', '/mnt', 'room=1']);
    assert.deepEqual(scope.subprotocols, ['chat', 'superchat']);
    assert.equal(scope.method, undefined);
    c.ws.close(4100, 'done');
    assert.equal((await c.closed()).code, 4100);
    await waitForLog(g.logs, /websocket\.disconnect code 4100/);
  });

  it("closes with the application's code and reason", async () => {
    const g = await start();
    const c = await openWs(wsUrl(g, '/mnt/ws'));
    c.ws.send('close');
    assert.deepEqual(await c.closed(), { code: 4001, reason: 'bye' });
  });

  it('answers 403 when the application closes before accepting, and 500 when it raises first', async () => {
    const g = await start();
    await assert.rejects(openWs(wsUrl(g, '/mnt/ws-deny')), /handshake refused: 403/);
    await assert.rejects(openWs(wsUrl(g, '/mnt/ws-boom')), /handshake refused: 500/);
    await waitForLog(g.logs, /RuntimeError: websocket boom before accept/);
  });

  it('closes with 1011 when the application raises after accepting, and keeps serving', async () => {
    const g = await start();
    const c = await openWs(wsUrl(g, '/mnt/ws'));
    c.ws.send('boom');
    assert.equal((await c.closed()).code, 1011);
    await waitForLog(g.logs, /RuntimeError: websocket boom after accept/);
    const d = await openWs(wsUrl(g, '/mnt/ws'));
    d.ws.send('again');
    assert.equal(await d.next(), 'echo: again');
    d.ws.close();
    await d.closed();
  });

  it('tells the application websocket.disconnect when the client drops', async () => {
    const g = await start();
    const c = await openWs(wsUrl(g, '/mnt/ws'));
    c.ws.send('x');
    await c.next();
    c.ws.terminate();
    await waitForLog(g.logs, /websocket\.disconnect code 1006/);
  });
});
