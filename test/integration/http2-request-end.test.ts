import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGate, type TestGate } from '../helpers/gate.js';
import { h2Ask, h2Session } from '../helpers/h2-client.js';

/**
 * APP: /listen waits for the 'end' of a GET it never reads; /ends says how many came;
 * /cut destroys the request with an error nobody listens for; /heard with one it hears.
 */
const APP = `let ends = 0;
export default function (req, res) {
  if (req.url === '/listen') {
    req.on('end', () => { ends += 1; });
    res.end('listening');
  } else if (req.url === '/ends') {
    res.end(String(ends));
  } else if (req.url === '/cut') {
    req.destroy(new Error('cut by the app'));
    res.end('cut');
  } else if (req.url === '/heard') {
    req.on('error', (e) => res.end('heard ' + e.message));
    req.destroy(new Error('boom'));
  } else res.end(String(req.readableEnded));
}
`;

describe('HTTP/2: the request of a stream with no body', () => {
  let dir: string;
  let gate: TestGate | undefined;
  let session: ClientHttp2Session | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gk-h2end-'));
    writeFileSync(join(dir, 'app.mjs'), APP);
    gate = await startGate(`global { workers 0 }\nserver { listen 127.0.0.1:0 h2c; app ${join(dir, 'app.mjs')} }`);
    session = await h2Session(`http://127.0.0.1:${gate.port}`);
  });
  after(async () => {
    session?.close();
    await gate?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const body = async (path: string): Promise<string> => (await h2Ask(session!, { path })).body.toString();

  it("emits 'end' to a listener that never reads it, as over HTTP/1.1", async () => {
    const before = Number(await body('/ends'));
    assert.equal(await body('/listen'), 'listening');
    assert.equal(await body('/listen'), 'listening');
    // the ends come once the streams closed: ask until both are counted (bounded by the test timeout)
    while (Number(await body('/ends')) < before + 2);
    assert.equal(Number(await body('/ends')), before + 2);
  });

  it('passes an error to a listener, and keeps the process when nobody listens', async () => {
    assert.equal(await body('/cut'), 'cut');
    assert.equal(await body('/heard'), 'heard boom');
    assert.equal(await body('/other'), 'false');
  });
});
