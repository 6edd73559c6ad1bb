import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawRequest } from '../helpers/raw-http.js';
import { CGI_DIR, CGI_FILE, cgiConfig, describeSpawners, parseEnv } from './cgi-fixtures.js';

describeSpawners('cgi: meta-variables (RFC 3875 4.1)', () => {
  let gate: TestGate | undefined;
  before(() => {
    process.env.GK_CGI_PASSED = 'passed on';
    process.env.GK_CGI_KEPT = 'kept back';
  });
  after(() => {
    delete process.env.GK_CGI_PASSED;
    delete process.env.GK_CGI_KEPT;
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  const envOf = async (path: string, init?: RequestInit): Promise<Record<string, string>> => {
    const res = await fetch(gate!.url(path), init);
    assert.equal(res.status, 200);
    return parseEnv(await res.text());
  };

  it('sets every meta-variable of section 4.1 for a GET', async () => {
    gate = await startGate(cgiConfig(), { file: CGI_FILE });
    const env = await envOf('/cgi-bin/env.sh/extra/path%20x?a=1&b=two', { headers: { 'x-custom': 'v1' } });
    assert.equal(env.AUTH_TYPE, undefined, 'no authentication, no AUTH_TYPE');
    assert.equal(env.CONTENT_LENGTH, undefined, 'no body, no CONTENT_LENGTH');
    assert.equal(env.CONTENT_TYPE, undefined);
    assert.equal(env.GATEWAY_INTERFACE, 'CGI/1.1');
    assert.equal(env.PATH_INFO, '/extra/path x');
    assert.equal(env.PATH_TRANSLATED, `${CGI_DIR}/extra/path x`);
    assert.equal(env.QUERY_STRING, 'a=1&b=two');
    assert.equal(env.REMOTE_ADDR, '127.0.0.1');
    assert.equal(env.REMOTE_HOST, '127.0.0.1');
    assert.equal(env.REMOTE_IDENT, undefined, 'no ident lookups');
    assert.equal(env.REMOTE_USER, undefined);
    assert.equal(env.REQUEST_METHOD, 'GET');
    assert.equal(env.SCRIPT_NAME, '/cgi-bin/env.sh');
    assert.equal(env.SERVER_NAME, '127.0.0.1');
    assert.equal(env.SERVER_PORT, String(gate.port));
    assert.equal(env.SERVER_PROTOCOL, 'HTTP/1.1');
    assert.match(env.SERVER_SOFTWARE, /^gatekit\/\d+\.\d+/);
    assert.equal(env.HTTP_X_CUSTOM, 'v1');
    assert.equal(env.HTTP_HOST, `127.0.0.1:${gate.port}`);
    assert.equal(env.REQUEST_URI, '/cgi-bin/env.sh/extra/path%20x?a=1&b=two');
    assert.equal(env.SCRIPT_FILENAME, `${CGI_DIR}/env.sh`);
  });

  it('leaves PATH_INFO empty and PATH_TRANSLATED unset without extra path, and QUERY_STRING empty without a query', async () => {
    gate = await startGate(cgiConfig(), { file: CGI_FILE });
    const env = await envOf('/cgi-bin/env.sh');
    assert.equal(env.PATH_INFO, '');
    assert.equal(env.PATH_TRANSLATED, undefined);
    assert.equal(env.QUERY_STRING, '');
  });

  it('sets CONTENT_LENGTH and CONTENT_TYPE for a body, never as HTTP_* too', async () => {
    gate = await startGate(cgiConfig(), { file: CGI_FILE });
    const env = await envOf('/cgi-bin/env.sh', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/x-test' } });
    assert.equal(env.REQUEST_METHOD, 'POST');
    assert.equal(env.CONTENT_LENGTH, '5');
    assert.equal(env.CONTENT_TYPE, 'text/x-test');
    assert.equal(env.HTTP_CONTENT_LENGTH, undefined);
    assert.equal(env.HTTP_CONTENT_TYPE, undefined);
  });

  it('sets AUTH_TYPE and REMOTE_USER from auth, without passing the credentials', async () => {
    const hash = `{SHA}${createHash('sha1').update('secret').digest('base64')}`;
    gate = await startGate(cgiConfig('', `auth basic { user alice "${hash}" }`), { file: CGI_FILE });
    const env = await envOf('/cgi-bin/env.sh', { headers: { authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` } });
    assert.equal(env.AUTH_TYPE, 'Basic');
    assert.equal(env.REMOTE_USER, 'alice');
    assert.equal(env.HTTP_AUTHORIZATION, undefined);
  });

  it('never sets HTTP_PROXY from a Proxy header (httpoxy), nor headers with underscores', async () => {
    gate = await startGate(cgiConfig(), { file: CGI_FILE });
    const res = await rawRequest(
      gate.port,
      'GET /cgi-bin/env.sh HTTP/1.1\r\nHost: x\r\nProxy: http://evil.test:666\r\nX_Spoof: 1\r\nX-Real: 2\r\nConnection: close\r\n\r\n',
    );
    const env = parseEnv(res.text);
    assert.equal(res.status, 200);
    assert.equal(env.HTTP_PROXY, undefined);
    assert.equal(env.HTTP_X_SPOOF, undefined);
    assert.equal(env.HTTP_X_REAL, '2');
    assert.equal(env.SERVER_NAME, 'x');
  });

  it('passes only pass_env names from its own environment, plus env settings and a default PATH', async () => {
    gate = await startGate(cgiConfig('pass_env GK_CGI_PASSED GK_CGI_MISSING; env FIXED_VAR "fixed value"'), { file: CGI_FILE });
    const env = await envOf('/cgi-bin/env.sh');
    assert.equal(env.GK_CGI_PASSED, 'passed on');
    assert.equal(env.GK_CGI_KEPT, undefined);
    assert.equal(env.GK_CGI_MISSING, undefined);
    assert.equal(env.FIXED_VAR, 'fixed value');
    assert.equal(env.PATH, '/usr/local/bin:/usr/bin:/bin');
    assert.equal(env.HOME, undefined);
    const allowed = /^(HTTP_|GK_CGI_PASSED$|FIXED_VAR$|PATH$|PWD$|SHLVL$|_$)/;
    const known = new Set([
      'AUTH_TYPE',
      'CONTENT_LENGTH',
      'CONTENT_TYPE',
      'GATEWAY_INTERFACE',
      'PATH_INFO',
      'PATH_TRANSLATED',
      'QUERY_STRING',
      'REMOTE_ADDR',
      'REMOTE_HOST',
      'REMOTE_PORT',
      'REMOTE_USER',
      'REQUEST_METHOD',
      'SCRIPT_NAME',
      'SERVER_NAME',
      'SERVER_PORT',
      'SERVER_PROTOCOL',
      'SERVER_SOFTWARE',
      'SERVER_ADDR',
      'REQUEST_URI',
      'REQUEST_SCHEME',
      'SCRIPT_FILENAME',
      'DOCUMENT_ROOT',
    ]);
    assert.deepEqual(
      Object.keys(env).filter((k) => !known.has(k) && !allowed.test(k)),
      [],
    );
  });

  it('maps PATH_INFO into document_root for PATH_TRANSLATED, and passes Authorization with pass_auth on', async () => {
    gate = await startGate(cgiConfig('document_root ./; pass_auth on'), { file: CGI_FILE });
    const env = await envOf('/cgi-bin/env.sh/doc.txt', { headers: { authorization: 'Bearer t0k' } });
    assert.equal(env.PATH_TRANSLATED, `${CGI_DIR.slice(0, -'/cgi-bin'.length)}/doc.txt`);
    assert.equal(env.HTTP_AUTHORIZATION, 'Bearer t0k');
  });

  it('runs the script in its own folder, with SCRIPT_NAME and PATH_INFO split at the script', async () => {
    gate = await startGate(cgiConfig(), { file: CGI_FILE });
    const res = await fetch(gate.url('/cgi-bin/sub/inner.sh/x/y'));
    assert.equal(await res.text(), 'SCRIPT_NAME=/cgi-bin/sub/inner.sh PATH_INFO=/x/y\n');
    const env = await envOf('/cgi-bin/env.sh');
    assert.equal(env.PWD, CGI_DIR);
  });
});
