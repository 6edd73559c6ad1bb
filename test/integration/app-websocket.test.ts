import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';

const FILE = repoPath('plugins', 'app', 'testdata', 't.gate');

/** messages opens a WebSocket, sends `send`, and resolves with the first `n` messages (bounded). */
function messages(url: string, send: string, n: number): { ws: WebSocket; got: Promise<string[]> } {
  const ws = new WebSocket(url);
  const got = new Promise<string[]>((resolve, reject) => {
    const out: string[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${out.length} messages`)), 2000);
    ws.on('open', () => ws.send(send));
    ws.on('message', (m) => {
      out.push((m as Buffer).toString());
      if (out.length === n) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    ws.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  return { ws, got };
}

describe('app: WebSocket upgrades', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it("hands Upgrade requests to the module's upgrade export, and plain requests to its listener", async () => {
    gate = await startGate('server { listen 127.0.0.1:0; route /ws/ { app ./ws-app.mjs } }', { file: FILE });
    const { ws, got } = messages(`ws://127.0.0.1:${gate.port}/ws/room`, 'hi', 2);
    assert.deepEqual(await got, ['welcome to /ws/room', 'echo: hi']);
    assert.equal(await (await fetch(gate.url('/ws/plain'))).text(), 'plain http');
    const closed = new Promise((r) => ws.once('close', r));
    ws.close();
    await closed;
  });

  it('closes upgraded connections still open when the gate closes', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; app ./ws-app.mjs }', { file: FILE });
    const { ws, got } = messages(`ws://127.0.0.1:${gate.port}/`, 'x', 2);
    await got;
    const closed = new Promise((r) => ws.once('close', r));
    await gate.close();
    gate = undefined;
    await closed;
  });

  it('answers an upgrade with the listener when the module has no upgrade export', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; app ./plain.mjs }', { file: FILE });
    const ws = new WebSocket(`ws://127.0.0.1:${gate.port}/`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.on('error', () => resolve(-1));
    });
    assert.equal(status, 200);
    ws.terminate();
  });
});
