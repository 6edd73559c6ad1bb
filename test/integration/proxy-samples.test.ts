import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WebSocket, type RawData } from 'ws';
import { startChat, type Chat } from '../../samples/websocket-chat/chat-server.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { send } from './proxy-upstreams.js';
import { freePort } from '../helpers/ports.js';

/** messages collects a client's text messages; `until` waits (bounded) for one that matches. */
function messages(ws: WebSocket): { all: string[]; until(re: RegExp, ms?: number): Promise<string> } {
  const all: string[] = [];
  const waiters: { re: RegExp; resolve: (m: string) => void }[] = [];
  ws.on('message', (d: RawData) => {
    const m = (d as Buffer).toString();
    all.push(m);
    for (const w of [...waiters])
      if (w.re.test(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
  });
  return {
    all,
    until: (re, ms = 2000) => {
      const seen = all.find((m) => re.test(m));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no message like ${re} (got ${all.join(' | ')})`)), ms);
        waiters.push({
          re,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
        });
      });
    },
  };
}

describe('proxy: samples', () => {
  let gate: TestGate | undefined;
  let chat: Chat | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.terminate();
    await gate?.close();
    gate = undefined;
    await chat?.close();
    chat = undefined;
  });

  it('samples/proxy spreads requests over its two upstreams, prefix stripped', async () => {
    const file = repoPath('samples', 'proxy', 'gatekit.gate');
    const env = { PORT: String(await freePort()), UPSTREAM_A_PORT: String(await freePort()), UPSTREAM_B_PORT: String(await freePort()) };
    gate = await startGate(readFileSync(file, 'utf8'), { file, env });
    const port = Number(env.PORT);
    const a = await send(port, '/api/hello?x=1');
    const b = await send(port, '/api/hello?x=1');
    assert.deepEqual([a.body, b.body].sort(), [
      'hello from upstream a: GET /hello?x=1 (for 127.0.0.1)\n',
      'hello from upstream b: GET /hello?x=1 (for 127.0.0.1)\n',
    ]);
    assert.deepEqual(
      new Set([a.headers['x-upstream'], b.headers['x-upstream']]),
      new Set([`127.0.0.1:${env.UPSTREAM_A_PORT}`, `127.0.0.1:${env.UPSTREAM_B_PORT}`]),
    );
  });

  it('samples/websocket-chat carries a chat between two clients through the proxy', async () => {
    chat = await startChat(0);
    const file = repoPath('samples', 'websocket-chat', 'gatekit.gate');
    const env = { PORT: String(await freePort()), CHAT_PORT: String(chat.port) };
    gate = await startGate(readFileSync(file, 'utf8'), { file, env });
    const page = await send(Number(env.PORT), '/');
    assert.match(page.body, /new WebSocket/);
    const open = async (): Promise<{ ws: WebSocket; m: ReturnType<typeof messages> }> => {
      const ws = new WebSocket(`ws://127.0.0.1:${env.PORT}/chat`);
      sockets.push(ws);
      const m = messages(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return { ws, m };
    };
    const alice = await open();
    const me = (await alice.m.until(/^welcome, /)).slice('welcome, '.length);
    const bob = await open();
    await alice.m.until(/joined$/);
    bob.ws.send('hi alice');
    assert.match(await alice.m.until(/hi alice/), /^guest\d+: hi alice$/);
    alice.ws.send('hi bob');
    assert.equal(await bob.m.until(/hi bob/), `${me}: hi bob`);
  });
});
