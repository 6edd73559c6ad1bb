import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { httpGet } from './mw-fixtures.js';

describe('samples/middleware', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('serves compressed public pages, guards /api/ with basic auth, and adds its headers', async () => {
    const file = repoPath('samples', 'middleware', 'gatekit.gate');
    gate = await startGate(readFileSync(file, 'utf8').replace('${MW_PORT:-8080}', '0'), { file, env: {} });
    const page = await httpGet(gate.url('/'), { 'accept-encoding': 'gzip, br' });
    assert.equal(page.headers['content-encoding'], 'br');
    assert.match(brotliDecompressSync(page.body).toString(), /^a public page/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.match(String(page.headers['x-request-id']), /^[0-9a-f]{20}$/);
    assert.equal((await httpGet(gate.url('/api/'))).status, 401);
    const api = await httpGet(gate.url('/api/'), { authorization: `Basic ${Buffer.from('bob:builder').toString('base64')}` });
    assert.match(api.body.toString(), /^hello bob, your request is [0-9a-f]{20}\n$/);
    assert.equal((await httpGet(gate.url('/healthz'))).body.toString(), 'ok');
  });
});
