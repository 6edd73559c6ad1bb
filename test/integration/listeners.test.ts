import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawRequest } from '../helpers/raw-http.js';

function getUnix(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, headers: { host: 'sock' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('listeners', () => {
  let gate: TestGate | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('serves on a unix socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-sock-'));
    const sock = join(dir, 'gate.sock');
    gate = await startGate(`server { listen unix:${sock}; respond "over a socket $path" }`);
    assert.deepEqual(await getUnix(sock, '/x'), { status: 200, body: 'over a socket /x' });
  });

  it('serves on IPv6 loopback', async function () {
    try {
      gate = await startGate('server { listen [::1]:0; respond "v6" }');
    } catch (e) {
      if (/EADDRNOTAVAIL|address not available/i.test(String(e))) this.skip(); // no IPv6 on this host
      throw e;
    }
    const res = await fetch(`http://[::1]:${gate.port}/`);
    assert.equal(await res.text(), 'v6');
  });

  it('serves one server on several addresses', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; listen 127.0.0.2:0; respond "both" }');
    assert.equal(gate.addresses.length, 2);
    for (const a of gate.addresses) assert.equal(await (await fetch(`http://${a.host}:${a.port}/`)).text(), 'both');
  });

  it('answers a malformed request with 400, closes that connection, and keeps serving', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; respond "fine" }');
    const bad = await rawRequest(gate.port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n');
    assert.equal(bad.status, 400);
    assert.equal(bad.closed, true);
    const garbage = await rawRequest(gate.port, '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 not http at all\r\n\r\n');
    assert.equal(garbage.status, 400);
    assert.equal(garbage.closed, true);
    const res = await fetch(gate.url('/'));
    assert.equal(await res.text(), 'fine');
  });

  it('answers 431 to oversized headers', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; respond "fine" }');
    const r = await rawRequest(gate.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
    assert.equal(r.status, 431);
  });

  it('refuses a path that climbs above the root or holds a NUL byte with 400', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; respond "fine $path" }');
    for (const target of ['/../etc/passwd', '/a/%2e%2e/%2e%2e/etc', '/a%00b', '/bad%zzescape', '/%c0%ae%c0%ae/x']) {
      const r = await rawRequest(gate.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 400, target);
    }
    const ok = await rawRequest(gate.port, 'GET /a/./b/../c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(ok.text, /fine \/a\/c$/);
  });

  it('routes an absolute-form request target by its authority', async () => {
    gate = await startGate(`server a.test { listen 127.0.0.1:0; respond "a $path $query" }
      server { listen 127.0.0.1:0; respond "default" }`);
    const r = await rawRequest(gate.port, 'GET http://a.test/p?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n');
    assert.match(r.text, /a \/p q=1$/);
    const bare = await rawRequest(gate.port, 'GET http://a.test?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n');
    assert.match(bare.text, /a \/ q=1$/, 'an authority followed by a query: the path is /');
  });

  it('answers 400 to a Host that is no host name, and to two Host lines; serves names, addresses and ports', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; respond "$host $path" }');
    const ask = (hostLines: string): Promise<number> =>
      rawRequest(gate!.port, `GET /x HTTP/1.1\r\n${hostLines}Connection: close\r\n\r\n`).then((r) => r.status);
    for (const bad of ['evil.com/x', 'x y', '..', 'a..b', 'a<b', 'a@evil.com', '[evil', 'a.test:80x', 'caf\u00e9.test']) {
      assert.equal(await ask(`Host: ${bad}\r\n`), 400, bad);
    }
    assert.equal(await ask('Host: a.test\r\nHost: b.test\r\n'), 400, 'two Host lines');
    for (const good of ['a.test', 'A.Test:8080', '127.0.0.1', '[::1]:80', 'under_score.test.', '']) {
      assert.equal(await ask(`Host: ${good}\r\n`), 200, good);
    }
  });

  it('finishes a request in flight on close, then refuses new connections', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; respond "done" }');
    const port = gate.port;
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n'); // headers not finished when close begins
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString();
    });
    const closing = gate.close();
    gate = undefined;
    socket.write('\r\n');
    await once(socket, 'end');
    await closing;
    assert.match(text, /^HTTP\/1\.1 200 OK[\s\S]*done$/);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
  });
});
