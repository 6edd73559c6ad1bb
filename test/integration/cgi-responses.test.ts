import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawGet, rawRequest } from '../helpers/raw-http.js';
import { CGI_FILE, cgiConfig, describeSpawners, HAS_PYTHON, logValue, openRequest, parseEnv } from './cgi-fixtures.js';

describeSpawners('cgi: requests and responses', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });
  beforeEach(async () => {
    gate = await startGate(cgiConfig(), { file: CGI_FILE });
  });

  it('answers with the Status: header, its reason phrase and repeated fields, dropping hop-by-hop ones', async () => {
    const raw = await rawGet(gate!.port, '/cgi-bin/status.sh');
    assert.match(raw.text, /^HTTP\/1\.1 418 I'm a teapot\r\n/);
    assert.match(raw.text, /\r\nX-Script: status\r\n/);
    assert.match(raw.text, /\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n/);
    assert.doesNotMatch(raw.text, /keep-alive/i);
    assert.match(raw.text, /short and stout\n/);
  });

  it('re-dispatches a local redirect internally, as a GET, discarding the script body', async () => {
    const res = await fetch(gate!.url('/cgi-bin/local-redirect.sh'), { method: 'POST', body: 'x', redirect: 'manual' });
    assert.equal(res.status, 200);
    const env = parseEnv(await res.text());
    assert.equal(env.SCRIPT_NAME, '/cgi-bin/env.sh');
    assert.equal(env.PATH_INFO, '/redirected');
    assert.equal(env.QUERY_STRING, 'from=local');
    assert.equal(env.REQUEST_METHOD, 'GET');
  });

  it('stops a loop of local redirects with a 500', async () => {
    const res = await fetch(gate!.url('/cgi-bin/loop-redirect.sh'));
    assert.equal(res.status, 500);
    await res.text();
  });

  it('answers a client redirect (absolute Location) with 302', async () => {
    const res = await fetch(gate!.url('/cgi-bin/client-redirect.sh'), { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'https://example.com/elsewhere?x=1');
    await res.text();
  });

  it('passes an nph- script output through raw, then closes the connection', async () => {
    const raw = await rawRequest(gate!.port, 'GET /cgi-bin/nph-raw.sh HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(raw.text, 'HTTP/1.1 203 Raw Answer\r\nX-Nph: yes\r\nContent-Type: text/plain\r\n\r\nraw body, unparsed\n');
    assert.equal(raw.closed, true);
  });

  it('answers 502 for garbage headers or no output, logs it naming the script, and keeps serving', async () => {
    const bad = await fetch(gate!.url('/cgi-bin/garbage.sh'));
    assert.equal(bad.status, 502);
    await bad.text();
    const line = await logValue(gate!.logs, /(.*CGI script \/garbage\.sh sent a bad header.*)/);
    assert.ok(line, gate!.logs.join('\n'));
    assert.match(line, /request_id=\w+/);
    const silent = await fetch(gate!.url('/cgi-bin/silent.sh'));
    assert.equal(silent.status, 502);
    await silent.text();
    const broken = await fetch(gate!.url('/cgi-bin/bad-interpreter.sh'));
    assert.equal(broken.status, 502);
    await broken.text();
    const ok = await fetch(gate!.url('/cgi-bin/env.sh'));
    assert.equal(ok.status, 200);
    await ok.text();
  });

  it('writes each stderr line to the error log, naming the script', async () => {
    const res = await fetch(gate!.url('/cgi-bin/stderr.sh'));
    assert.equal(await res.text(), 'ok\n');
    assert.ok(await logValue(gate!.logs, /(second complaint)/));
    const lines = gate!.logs.filter((l) => /complaint/.test(l));
    assert.equal(lines.length, 2);
    for (const l of lines) assert.match(l, /error \[cgi\] \w+ complaint script=\/stderr\.sh/);
  });

  it('streams a large body to stdin and back, byte for byte', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const res = await fetch(gate!.url('/cgi-bin/echo.sh'), { method: 'POST', body });
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(body));
  });

  it('answers every one of many quick scripts in a row, however fast their output ends', async () => {
    // a script's whole output and its end can arrive before gatekit reads the head
    for (let i = 0; i < 200; i++) {
      const res = await fetch(gate!.url('/cgi-bin/status.sh'), { signal: AbortSignal.timeout(2000) });
      assert.equal(res.status, 418);
      assert.equal(await res.text(), 'short and stout\n');
    }
  });

  it('runs an executable script without a #! line with /bin/sh, as execvp does', async () => {
    const res = await fetch(gate!.url('/cgi-bin/noshebang.sh'));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'no shebang\n');
  });

  it('sends the whole answer of a script that never reads a large body', async () => {
    const res = await fetch(gate!.url('/cgi-bin/ignore-body.sh'), { method: 'POST', body: randomBytes(8 * 1024 * 1024) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'not reading that\n');
    const after = await fetch(gate!.url('/cgi-bin/env.sh'));
    assert.equal(after.status, 200);
    await after.text();
  });

  it('streams stdin with request_buffering off: the script answers the first line before the client sends the rest', async () => {
    await gate!.close();
    gate = await startGate(cgiConfig('request_buffering off'), { file: CGI_FILE });
    const req = openRequest(gate.port, '/cgi-bin/stream.sh');
    req.write('one\n');
    const first = await req.firstData;
    assert.equal(first.status, 200);
    assert.equal(first.text, 'first=one\n');
    req.end('two\n');
    assert.equal((await req.response).body, 'first=one\nrest=two\n');
  });

  it('reads the body from ctx.body, so a limit middleware answers 413 for an oversized chunked body', async () => {
    await gate!.close();
    gate = await startGate(cgiConfig('', 'limit { body 4B }'), { file: CGI_FILE });
    const raw = await rawRequest(gate.port, 'POST /cgi-bin/hold.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n');
    assert.equal(raw.status, 413);
    assert.doesNotMatch(raw.text, /abcdef/);
  });

  it('runs a non-executable script through its interpreter', async function () {
    if (!HAS_PYTHON) this.skip(); // python3 is not on PATH
    const res = await fetch(gate!.url('/cgi-bin/hello.py?you'));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'python says hi to you\n');
  });

  it('sends no body to HEAD', async () => {
    const res = await fetch(gate!.url('/cgi-bin/env.sh'), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });
});
