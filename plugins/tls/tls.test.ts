import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkGate } from '../../test/helpers/gate.js';
import { checkPair } from './certs.js';
import { hstsValue, TlsUnit } from './provider.js';
import { selfSigned } from './self-signed.js';

const AT = { file: 't.gate', line: 1, col: 1, len: 3 };

describe('tls', () => {
  let dir: string;
  const file = (name: string): string => join(dir, name);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-tls-'));
    const a = selfSigned(['a.test']);
    const b = selfSigned(['b.test']);
    writeFileSync(file('a.pem'), a.cert);
    writeFileSync(file('a.key'), a.key);
    writeFileSync(file('b.key'), b.key);
    writeFileSync(file('junk.pem'), 'not a certificate\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const check = async (block: string) => checkGate(`server {\n  listen 8443 tls\n  tls ${block}\n  respond "x"\n}`);

  it('accepts a matching certificate and key', async () => {
    assert.deepEqual(await check(`{ cert "${file('a.pem')}"; key "${file('a.key')}" }`), []);
  });

  it('reports a missing file, a file that is no certificate, and a key that does not match, at check time', async () => {
    const [missing] = await check(`{ cert "${file('nope.pem')}"; key "${file('a.key')}" }`);
    assert.deepEqual([missing.code, missing.span.line, missing.span.col], ['GK_TLS_FILE', 3, 14]);
    assert.match(missing.message, /cannot read certificate '.*nope\.pem': no such file/);
    const [noKey] = await check(`{ cert "${file('a.pem')}"; key "${file('nope.key')}" }`);
    assert.deepEqual(
      [noKey.code, noKey.span.line, noKey.span.col],
      ['GK_TLS_FILE', 3, `  tls { cert "${file('a.pem')}"; key `.length + 1],
      'the caret is under the key',
    );
    assert.match(noKey.message, /cannot read key '.*nope\.key': no such file/);
    assert.equal((await check(`{ cert "${file('junk.pem')}"; key "${file('a.key')}" }`))[0].code, 'GK_TLS_CERT');
    assert.equal((await check(`{ cert "${file('a.pem')}"; key "${file('junk.pem')}" }`))[0].code, 'GK_TLS_KEY');
    const [mismatch] = await check(`{ cert "${file('a.pem')}"; key "${file('b.key')}" }`);
    assert.equal(mismatch.code, 'GK_TLS_MISMATCH');
    assert.match(mismatch.message, /does not match certificate/);
  });

  it('warns about a certificate outside its validity period', () => {
    const [late] = checkPair(file('a.pem'), file('a.key'), new Date('2200-01-01'));
    assert.deepEqual([late.code, late.warning], ['GK_TLS_EXPIRED', true]);
    const [early] = checkPair(file('a.pem'), file('a.key'), new Date('2000-01-01'));
    assert.deepEqual([early.code, early.warning], ['GK_TLS_NOT_YET_VALID', true]);
    assert.deepEqual(checkPair(file('a.pem'), file('a.key')), []);
  });

  it('needs cert and key, or self_signed, and not both', async () => {
    assert.equal((await check('{ hsts 1d }'))[0].code, 'GK_TLS_MISSING');
    assert.match((await check(`{ cert "${file('a.pem')}" }`))[0].message, /'tls' needs key/);
    assert.equal((await check(`self_signed { cert "${file('a.pem')}" }`))[0].code, 'GK_TLS_CONFLICT');
    assert.deepEqual(await check('self_signed'), []);
  });

  it('reports a bad min_version and an unknown option at their positions', async () => {
    const [v] = await check('self_signed { min_version 1.1 }');
    assert.deepEqual([v.code, v.span.line, v.span.col], ['GK_DSL_BAD_ARG', 3, 33]);
    const [o] = await check('self_signed { hst 1d }');
    assert.deepEqual([o.code, o.help], ['GK_DSL_UNKNOWN_OPTION', "did you mean 'hsts'?"]);
  });

  it('gives the secure context its certificate and minimum version, and the HSTS header', () => {
    const u = new TlsUnit(
      { mode: undefined, cert: file('a.pem'), key: file('a.key'), min_version: '1.3', hsts: { max_age: 365 * 86_400_000, flags: ['include_subdomains'] } },
      AT,
      () => {
        throw new Error('unused');
      },
    );
    const p = u.tls();
    assert.equal(p.options.minVersion, 'TLSv1.3');
    assert.match(String(p.options.cert), /BEGIN CERTIFICATE/);
    assert.deepEqual(p.headers, { 'strict-transport-security': 'max-age=31536000; includeSubDomains' });
    assert.equal(u.tls(), p, 'read once');
    assert.equal(new TlsUnit({ mode: 'self_signed', min_version: '1.2' }, AT, () => ({ cert: 'c', key: 'k' })).tls().options.minVersion, 'TLSv1.2');
  });

  it('renders HSTS flags', () => {
    assert.equal(hstsValue(1000, []), 'max-age=1');
    assert.equal(hstsValue(86_400_000, ['include_subdomains', 'preload']), 'max-age=86400; includeSubDomains; preload');
  });
});

describe('tls acme at check', () => {
  const CA = 'ca https://ca.test/dir';
  const config = (server: string, tls: string, plain = true) =>
    checkGate(`server ${server} {\n  listen 8443 tls\n  tls ${tls}\n  respond "x"\n}\n${plain ? 'server {\n  listen 8080\n  redirect https\n}\n' : ''}`);
  const codes = async (server: string, tls: string, plain = true) => (await config(server, tls, plain)).map((d) => d.code);

  it('accepts tls auto and tls acme for a named server when a plain listener can answer the challenge', async () => {
    assert.deepEqual(await codes('a.test www.a.test', `acme { email ops@a.test; ${CA} }`), []);
    assert.deepEqual(await codes('a.test', `acme { challenge tls-alpn-01; ${CA} }`, false), []);
    assert.deepEqual(await codes('a.test', 'auto'), ['GK_TLS_ACME_PORT'], "Let's Encrypt checks port 80, and nothing listens there: a warning");
    assert.equal((await config('a.test', 'auto'))[0].severity, 'warning');
  });

  it('refuses an IP address, a wildcard and a server without names, at the server', async () => {
    const [ip] = await config('a.test 10.0.0.1', `acme { ${CA} }`);
    assert.deepEqual([ip.code, ip.span.line, ip.span.col], ['GK_TLS_ACME_IP', 1, 1]);
    assert.deepEqual(await codes('*.a.test', `acme { ${CA} }`), ['GK_TLS_ACME_WILDCARD']);
    assert.match((await config('', `acme { ${CA} }`))[0].message, /needs the server's host names/);
  });

  it('refuses a challenge no listener can answer', async () => {
    const [http] = await config('a.test', `acme { ${CA} }`, false);
    assert.deepEqual([http.code, http.severity], ['GK_TLS_ACME_NO_LISTENER', 'error']);
    assert.match(http.message, /no plain-HTTP TCP listener/);
    const diags = await checkGate(`server a.test {\n  listen 8080\n  tls acme { challenge tls-alpn-01; ${CA} }\n  respond "x"\n}`);
    const alpn = diags.find((d) => d.code === 'GK_TLS_ACME_NO_LISTENER')!;
    assert.deepEqual([alpn.span.line, alpn.span.col], [3, 24], 'the caret is under tls-alpn-01');
  });

  it('refuses storage redis without a global store, at storage, and a second folder for a plain storage', async () => {
    const [none] = await config('a.test', `acme { ${CA}; storage redis }`);
    assert.deepEqual(
      [none.code, none.severity, none.span.file.endsWith('.gate'), none.span.line, none.span.col],
      ['GK_TLS_ACME_NO_STORE', 'error', true, 3, 38],
    );
    assert.match(none.help!, /global \{ store redis:\/\//);
    const stored = await checkGate(
      `global { store redis://127.0.0.1:6379 }\nserver a.test {\n  listen 8443 tls\n  tls acme { ${CA}; storage redis ./copy }\n  respond "x"\n}\nserver {\n  listen 8080\n  redirect https\n}\n`,
    );
    assert.deepEqual(stored, []);
    assert.deepEqual(await codes('a.test', `acme { ${CA}; storage ./a ./b }`), ['GK_TLS_ACME_STORAGE']);
  });

  it('refuses acme options outside acme and files inside it, and warns about an email that is no address', async () => {
    const [misplaced] = await config('a.test', `self_signed { email ops@a.test }`);
    assert.deepEqual([misplaced.code, misplaced.span.col], ['GK_TLS_ACME_ONLY', 27]);
    assert.deepEqual(await codes('a.test', `acme { cert "${'/nope.pem'}"; ${CA} }`), ['GK_TLS_CONFLICT']);
    const [email] = await config('a.test', `acme { email nobody; ${CA} }`);
    assert.deepEqual([email.code, email.severity], ['GK_TLS_ACME_EMAIL', 'warning']);
    assert.equal((await codes('a.test', 'acme { ca http://ca.test/dir }'))[0], 'GK_DSL_BAD_ARG', 'ACME is spoken over HTTPS only');
  });
});
