import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSigned } from '../../plugins/tls/self-signed.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { h1Ask, h2Ask, h2Session, type Answer, type Ask } from '../helpers/h2-client.js';
import { repoPath } from '../helpers/paths.js';

const APP = repoPath('plugins', 'app', 'testdata', 'express-peer.mjs');
const FILE = readFileSync(repoPath('plugins', 'app', 'testdata', 'plain.mjs'));

/** peerAsk is the POST of a JSON body that the Express app answers with what it read of the request. */
const peerAsk: Ask = { method: 'POST', path: '/peer', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: 1, s: 'é' }) };

describe('app: an Express application over HTTP/2 and HTTP/1.1', function () {
  this.timeout(20_000);
  let dir: string;
  let gate: TestGate | undefined;
  let session: ClientHttp2Session | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-express-h2-'));
    const pair = selfSigned(['localhost']);
    writeFileSync(join(dir, 'c.pem'), pair.cert);
    writeFileSync(join(dir, 'c.key'), pair.key);
  });
  afterEach(async () => {
    session?.close();
    session = undefined;
    await gate?.close();
    gate = undefined;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** seen is what the app read of the request: its JSON answer. */
  function seen(a: Answer): Record<string, unknown> {
    assert.equal(a.status, 200, a.body.toString());
    assert.match(String(a.headers['content-type']), /^application\/json/);
    return JSON.parse(a.body.toString()) as Record<string, unknown>;
  }

  const expected = (secure: boolean, httpVersion: string): Record<string, unknown> => ({
    body: { n: 1, s: 'é' },
    remoteAddress: '127.0.0.1',
    sameConnection: true,
    secure,
    protocol: secure ? 'https' : 'http',
    ip: '127.0.0.1',
    httpVersion,
    complete: true,
    aborted: false,
    trailers: {},
    setTimeout: 'function',
  });

  for (const tls of [true, false])
    it(`reads the connection, a JSON body and sends JSON and a file over HTTP/2 (${tls ? 'TLS, ALPN h2' : 'h2c'}) as over HTTP/1.1`, async () => {
      const listen = tls ? `listen 127.0.0.1:0 tls; tls { cert ${dir}/c.pem; key ${dir}/c.key }` : 'listen 127.0.0.1:0 h2c';
      gate = await startGate(`server { ${listen}; app ${APP} }`);
      const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${gate.port}`;
      session = await h2Session(origin);
      assert.deepEqual(seen(await h2Ask(session, peerAsk)), expected(tls, '2.0'));
      const file = await h2Ask(session, { path: '/file' });
      assert.equal(file.status, 200);
      assert.match(String(file.headers['content-type']), /^text\/javascript/);
      assert.deepEqual(file.body, FILE);
      // HTTP/1.1 on the same address, unchanged
      assert.deepEqual(seen(await h1Ask(origin, peerAsk)), expected(tls, '1.1'));
      const file1 = await h1Ask(origin, { path: '/file' });
      assert.equal(file1.status, 200);
      assert.deepEqual(file1.body, FILE);
    });
});
