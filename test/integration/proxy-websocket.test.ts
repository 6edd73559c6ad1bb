import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { startGate, type TestGate } from '../helpers/gate.js';
import { selfSignedPair, waitFor } from './proxy-upstreams.js';

/** WsUpstream is a ws server on 127.0.0.1 port 0 (plain or TLS) that echoes messages with a prefix. */
interface WsUpstream {
  readonly server: Server;
  readonly wss: WebSocketServer;
  readonly port: number;
  close(): Promise<void>;
}

async function wsUpstream(tls = false): Promise<WsUpstream> {
  const server = tls
    ? createHttpsServer(selfSignedPair())
    : createHttpServer((_req, res) => {
        res.writeHead(426);
        res.end('websocket only');
      });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    ws.send(`hello ${req.url} host=${req.headers.host} xff=${req.headers['x-forwarded-for']}`);
    ws.on('message', (data: RawData, binary: boolean) => {
      const text = (data as Buffer).toString();
      if (!binary && text.startsWith('close ')) {
        const [, code, reason] = text.split(' ');
        ws.close(Number(code), reason);
        return;
      }
      ws.send(binary ? data : `echo ${text}`, { binary });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    wss,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Client is a ws client with its incoming messages queued, so a test can await the next one. */
class Client {
  readonly ws: WebSocket;
  private readonly queue: string[] = [];
  private waiters: ((m: string) => void)[] = [];
  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (d: RawData, binary) => {
      const m = binary ? `binary:${(d as Buffer).toString('hex')}` : (d as Buffer).toString();
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queue.push(m);
    });
  }
  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  next(ms = 2000): Promise<string> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no message in time')), ms);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }
  closed(ms = 2000): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('already closed'));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('not closed in time')), ms);
      this.ws.once('close', (code, reason) => {
        clearTimeout(t);
        resolve({ code, reason: reason.toString() });
      });
    });
  }
}

describe('proxy: WebSockets', () => {
  let gate: TestGate | undefined;
  let up: WsUpstream | undefined;
  let clients: Client[] = [];
  afterEach(async () => {
    for (const c of clients) c.ws.terminate();
    clients = [];
    await gate?.close();
    gate = undefined;
    await up?.close();
    up = undefined;
  });
  const connect = async (path: string, headers?: Record<string, string>): Promise<Client> => {
    const c = new Client(`ws://127.0.0.1:${gate!.port}${path}`, headers);
    clients.push(c);
    await c.opened();
    return c;
  };

  it('carries text and binary frames both ways, with the forwarding headers', async () => {
    up = await wsUpstream();
    gate = await startGate(`server { listen 127.0.0.1:0; route /ws/ { proxy ws://127.0.0.1:${up.port} } }`);
    const c = await connect('/ws/chat?room=1', { host: 'chat.test' });
    assert.equal(await c.next(), 'hello /ws/chat?room=1 host=chat.test xff=127.0.0.1');
    c.ws.send('hi');
    assert.equal(await c.next(), 'echo hi');
    c.ws.send(Buffer.from([0, 1, 2, 255]));
    assert.equal(await c.next(), 'binary:000102ff');
    const big = 'x'.repeat(200_000);
    c.ws.send(big);
    assert.equal(await c.next(), `echo ${big}`);
  });

  it('passes ping and pong, and close codes with their reason, both ways', async () => {
    up = await wsUpstream();
    gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${up.port} }`);
    const c = await connect('/');
    await c.next();
    const serverSide = [...up.wss.clients][0];
    const pinged = new Promise<string>((r) => serverSide.once('ping', (d) => r(d.toString())));
    const ponged = new Promise<string>((r) => c.ws.once('pong', (d) => r(d.toString())));
    c.ws.ping('are you there');
    assert.equal(await pinged, 'are you there');
    assert.equal(await ponged, 'are you there');
    const clientPinged = new Promise<string>((r) => c.ws.once('ping', (d) => r(d.toString())));
    serverSide.ping('and you?');
    assert.equal(await clientPinged, 'and you?');

    const closed = c.closed();
    c.ws.send('close 4001 bye-now');
    assert.deepEqual(await closed, { code: 4001, reason: 'bye-now' });

    const c2 = await connect('/');
    await c2.next();
    const s2 = [...up.wss.clients].find((s) => s !== serverSide)!;
    const serverClosed = new Promise<number>((r) => s2.once('close', (code) => r(code)));
    c2.ws.close(4002, 'client done');
    assert.equal(await serverClosed, 4002);
    await waitFor(() => c2.ws.readyState === WebSocket.CLOSED, 2000, 'the client to see the close');
  });

  it('closes a WebSocket idle for ws_idle_timeout', async () => {
    up = await wsUpstream();
    gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${up.port} { ws_idle_timeout 150ms } }`);
    const c = await connect('/');
    await c.next();
    const t0 = Date.now();
    const { code } = await c.closed(2000);
    assert.equal(code, 1006);
    assert.ok(Date.now() - t0 >= 100);
  });

  it("passes the upstream's refusal of an upgrade as a normal response", async () => {
    const server = createHttpServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('no sockets for you');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    up = {
      server,
      wss: new WebSocketServer({ noServer: true }),
      port: (server.address() as AddressInfo).port,
      close: () =>
        new Promise((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
    };
    gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${up.port} }`);
    const ws = new WebSocket(`ws://127.0.0.1:${gate.port}/`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.on('error', () => resolve(-1));
    });
    ws.terminate();
    assert.equal(status, 403);
  });

  it('answers 502 to an upgrade when the upstream is down', async () => {
    up = await wsUpstream();
    const port = up.port;
    await up.close();
    up = undefined;
    gate = await startGate(`server { listen 127.0.0.1:0; proxy ws://127.0.0.1:${port} }`);
    const ws = new WebSocket(`ws://127.0.0.1:${gate.port}/`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.on('error', () => resolve(-1));
    });
    ws.terminate();
    assert.equal(status, 502);
  });

  it('proxies to a wss upstream with tls_insecure', async () => {
    up = await wsUpstream(true);
    gate = await startGate(`server { listen 127.0.0.1:0; proxy wss://127.0.0.1:${up.port} { tls_insecure } }`);
    const c = await connect('/secure');
    assert.match(await c.next(), /^hello \/secure/);
    c.ws.send('over tls');
    assert.equal(await c.next(), 'echo over tls');
  });

  it('cuts open tunnels when the gate closes, at the graceful timeout', async () => {
    up = await wsUpstream();
    gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${up.port} }`);
    const c = await connect('/');
    await c.next();
    const closed = c.closed(3000);
    const closing = gate.close(); // the test gate's graceful timeout is 1 s
    gate = undefined;
    const finished = await Promise.race([closing.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2500))]);
    assert.ok(finished, 'the gate did not finish closing');
    assert.equal((await closed).code, 1006);
  });
});
