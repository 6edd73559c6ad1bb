import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';
import { rawUntil } from '../../test/helpers/raw-http.js';
import { MwTestPlugin } from '../../test/integration/mw-fixtures.js';
import { repoPath } from '../../test/helpers/paths.js';

const HTPASSWD = repoPath('plugins', 'auth', 'testdata', 'htpasswd');
const plugins = [MwTestPlugin];
const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;

describe('auth', () => {
  let gate: TestGate | undefined;
  let dir: string;
  let jwks: Server | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-auth-'));
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    if (jwks) {
      jwks.close();
      await once(jwks, 'close');
      jwks = undefined;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async (path: string, authorization?: string): Promise<Response> =>
    fetch(gate!.url(path), { headers: authorization === undefined ? {} : { authorization } });

  it('basic: accepts bcrypt ($2y$), apr1 and SHA1 users from htpasswd and sets $user', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; auth basic { realm "api"; users ${HTPASSWD} }; respond "hi $user" }`);
    for (const [cred, user] of [
      ['alice:wonder land', 'alice'],
      ['bob:builder', 'bob'],
      ['carol:c4r0l', 'carol'],
    ]) {
      const res = await status('/', basic(cred));
      assert.deepEqual([res.status, await res.text()], [200, `hi ${user}`]);
    }
  });

  it('basic: answers 401 with a challenge to every hostile case', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; auth basic { realm "a \\"q\\""; users ${HTPASSWD}; max_failures 0 }; respond "in" }`);
    const table: [string, string | undefined][] = [
      ['missing header', undefined],
      ['wrong scheme', 'Bearer abcdefabcdef'],
      ['scheme only', 'Basic'],
      ['malformed base64', 'Basic !!!not-base64!!!'],
      ['base64 without padding', `Basic ${Buffer.from('bob:builder').toString('base64').replace(/=+$/, '')}x`],
      ['no colon', basic('bobbuilder')],
      ['empty password', basic('bob:')],
      ['empty user', basic(':builder')],
      ['wrong password', basic('bob:Builder')],
      ['unknown user', basic('mallory:builder')],
      ['plain-text line user', basic('dave:plaintext')],
      ['password with a trailing newline', basic('bob:builder\n')],
      ['NUL in user', basic('bob\u0000:builder')],
    ];
    for (const [name, header] of table) {
      const res = await status('/', header);
      assert.equal(res.status, 401, name);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="a \\"q\\"", charset="UTF-8"', name);
    }
    const ok = await status('/', basic('bob:builder').replace('Basic', 'bAsIc'));
    assert.equal(ok.status, 200, 'the scheme is case-insensitive');
  });

  it('basic: takes an empty password where the file has one, and base64 without padding', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; auth basic { user eve "{SHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk="; max_failures 0 }; respond "in $user" }');
    const ok = await status('/', basic('eve:'));
    assert.deepEqual([ok.status, await ok.text()], [200, 'in eve']);
    assert.equal((await status('/', basic('eve:x'))).status, 401);
    assert.equal((await status('/', basic('eve:').replace(/=+$/, ''))).status, 200, 'unpadded');
  });

  it('basic: an unknown user costs as much as a wrong password (timing-safe path)', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0; auth basic { user alice "$2y$10$WlkDgqNyJNKYn82XHqUWuesEbqh2ae3gWdlWH53R0uk3jIS/ihJz6"; max_failures 0 }; respond "in" }`,
    );
    const time = async (cred: string): Promise<number> => {
      const t = performance.now();
      assert.equal((await status('/', basic(cred))).status, 401);
      return performance.now() - t;
    };
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[1];
    const known: number[] = [],
      unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push(await time('alice:wrong'));
      unknown.push(await time(`nobody${i}:wrong`));
    }
    assert.ok(median(unknown) > median(known) * 0.5, `unknown user ${median(unknown).toFixed(1)} ms vs wrong password ${median(known).toFixed(1)} ms`);
  });

  it('leaves except paths open, counts failures and answers 429 with Retry-After past max_failures', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0; auth basic { users ${HTPASSWD}; except /healthz /public/; max_failures 3; cooldown 1m }; respond "in" }`,
    );
    assert.equal((await status('/healthz')).status, 200);
    assert.equal((await status('/public/a')).status, 200);
    assert.equal((await status('/healthz/x')).status, 401);
    assert.equal((await status('/', basic('bob:builder'))).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await status('/', basic('bob:nope'))).status, 401);
    const blocked = await status('/', basic('bob:builder'));
    assert.equal(blocked.status, 429, 'even right credentials wait for the cooldown');
    const wait = Number(blocked.headers.get('retry-after'));
    assert.ok(wait > 50 && wait <= 60, `Retry-After ${wait}`);
    assert.equal((await status('/healthz')).status, 200);
  });

  it('bearer: accepts configured tokens in constant-time comparison and refuses the rest', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; auth bearer { token ${T1} ci; token ${T2}; max_failures 0 }; respond "u=$user" }', {
      env: { T1: 'a'.repeat(32), T2: 'b'.repeat(32) },
    });
    const ok = await status('/', `Bearer ${'a'.repeat(32)}`);
    assert.deepEqual([ok.status, await ok.text()], [200, 'u=ci']);
    assert.equal((await status('/', `Bearer ${'b'.repeat(32)}`)).status, 200);
    for (const h of [undefined, `Bearer ${'a'.repeat(31)}`, `Bearer ${'a'.repeat(33)}`, 'Bearer', basic('a:b'), `Token ${'a'.repeat(32)}`]) {
      const res = await status('/', h);
      assert.equal(res.status, 401, String(h));
      assert.match(res.headers.get('www-authenticate')!, /^Bearer realm="restricted"/);
    }
    const bad = await status('/', 'Bearer a b');
    assert.equal(bad.status, 400, 'no token at all is a bad request (RFC 6750 3.1)');
    assert.equal(bad.headers.get('www-authenticate'), 'Bearer realm="restricted", error="invalid_request"');
    assert.equal((await status('/', 'Bearer wrongwrongwrong')).headers.get('www-authenticate'), 'Bearer realm="restricted", error="invalid_token"');
  });

  it('jwt: accepts a valid HS256 token and refuses tampered, alg none, expired, early, wrong iss/aud and key-confused ones', async () => {
    const secret = 's'.repeat(40);
    const key = new TextEncoder().encode(secret);
    const es = await generateKeyPair('ES256', { extractable: true });
    gate = await startGate(
      `server { listen 127.0.0.1:0; auth jwt { secret "${secret}"; issuer https://id.test; audience api other; leeway 5s; max_failures 0 }; respond "u=$user" }`,
    );
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, alg = 'HS256', k: Parameters<SignJWT['sign']>[0] = key): Promise<string> =>
      new SignJWT({ iss: 'https://id.test', aud: 'api', sub: 'alice', exp: now + 60, ...claims }).setProtectedHeader({ alg }).sign(k);
    const good = await sign({});
    const ok = await status('/', `Bearer ${good}`);
    assert.deepEqual([ok.status, await ok.text()], [200, 'u=alice']);
    assert.equal((await status('/', `Bearer ${await sign({ exp: now - 2 })}`)).status, 200, 'within leeway');
    const [h, p, s] = good.split('.');
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const table: [string, string][] = [
      ['tampered payload', `${h}.${b64({ iss: 'https://id.test', aud: 'api', sub: 'admin', exp: now + 60 })}.${s}`],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`],
      ['alg none with signature', `${b64({ alg: 'none' })}.${p}.${s}`],
      ['expired', await sign({ exp: now - 60 })],
      ['not yet valid', await sign({ nbf: now + 60 })],
      ['wrong issuer', await sign({ iss: 'https://evil.test' })],
      ['wrong audience', await sign({ aud: 'web' })],
      ['bad signature (other secret)', await sign({}, 'HS256', new TextEncoder().encode('x'.repeat(40)))],
      ['ES256 where HS256 is configured', await sign({}, 'ES256', es.privateKey)],
      ['garbage', 'not.a.jwt'],
    ];
    for (const [name, token] of table) {
      const res = await status('/', `Bearer ${token}`);
      assert.equal(res.status, 401, name);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="restricted", error="invalid_token"', name);
    }
  });

  it('jwt: verifies with a PEM public key and with a JWKS URL, and refuses HS256 signed with the public key', async () => {
    const es = await generateKeyPair('ES256', { extractable: true });
    const rs = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(es.publicKey);
    writeFileSync(join(dir, 'es.pem'), pem);
    const jwk = { ...(await exportJWK(rs.publicKey)), kid: 'k1', alg: 'RS256' };
    jwks = createServer((_q, r) => {
      r.setHeader('content-type', 'application/json');
      r.end(JSON.stringify({ keys: [jwk] }));
    }).listen(0, '127.0.0.1');
    await once(jwks, 'listening');
    const jwksPort = (jwks.address() as { port: number }).port;
    gate = await startGate(`server { listen 127.0.0.1:0
      route /pem { auth jwt { public_key ${dir}/es.pem; max_failures 0 }; respond "pem $user" }
      route /jwks { auth jwt { jwks http://127.0.0.1:${jwksPort}/jwks.json; user_claim email }; respond "jwks $user" }
    }`);
    const pemToken = await new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg: 'ES256' }).sign(es.privateKey);
    const res = await status('/pem', `Bearer ${pemToken}`);
    assert.deepEqual([res.status, await res.text()], [200, 'pem bob']);
    const confused = await new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(pem));
    assert.equal((await status('/pem', `Bearer ${confused}`)).status, 401);
    const rsToken = await new SignJWT({ email: 'c@x.test' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(rs.privateKey);
    const viaJwks = await status('/jwks', `Bearer ${rsToken}`);
    assert.deepEqual([viaJwks.status, await viaJwks.text()], [200, 'jwks c@x.test']);
  });

  it('applies to upgrade requests', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; auth basic { users ${HTPASSWD} }; echo_upgrade }`, { plugins });
    const up = (extra: string): string => `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n${extra}\r\nping`;
    const refused = await rawUntil(gate.port, up(''), (t) => /^HTTP\/1\.1 401[\s\S]*\r\n\r\n/.test(t));
    assert.equal(refused.status, 401);
    assert.match(refused.text, /WWW-Authenticate: Basic realm="restricted"/i);
    const ok = await rawUntil(gate.port, up(`Authorization: ${basic('bob:builder')}\r\n`), (t) => t.endsWith('ping'));
    assert.equal(ok.status, 101);
    assert.ok(ok.text.endsWith('ping'));
  });

  it('reports mode mistakes, missing credentials, plain-text passwords and unusable keys at check', async () => {
    const codes = async (text: string): Promise<string[]> =>
      (await checkGate(`server { listen 80; ${text}; respond "x" }`, { file: join(dir, 't.gate') })).map((d) => d.code);
    assert.deepEqual(await codes('auth basic { token abc }'), ['GK_AUTH_NO_CREDENTIALS', 'GK_AUTH_OPTION']);
    assert.deepEqual(await codes(`auth basic { users ${repoPath('plugins', 'auth', 'testdata', 'htpasswd-bad')} }`), ['GK_AUTH_BAD_HASH', 'GK_AUTH_BAD_HASH']);
    assert.deepEqual(await codes('auth basic { user bob secret }'), ['GK_AUTH_BAD_HASH']);
    assert.deepEqual(await codes('auth basic { users ./missing.htpasswd }'), ['GK_AUTH_USERS']);
    assert.deepEqual(await codes('auth bearer { realm x }'), ['GK_AUTH_NO_CREDENTIALS']);
    assert.deepEqual(await codes('auth jwt { issuer x }'), ['GK_AUTH_JWT_KEY']);
    assert.deepEqual(await codes('auth jwt { secret short }'), ['GK_AUTH_JWT_KEY']);
    assert.deepEqual(await codes(`auth jwt { secret ${'k'.repeat(32)}; algorithms RS256 }`), ['GK_AUTH_JWT_ALG']);
    assert.deepEqual(await codes('auth jwt { public_key ./nope.pem }'), ['GK_AUTH_JWT_KEY']);
    const [d] = await checkGate('server { listen 80; auth digest { realm x }; respond "x" }');
    assert.deepEqual([d.code, d.span.col], ['GK_DSL_BAD_ARG', 26]);
  });
});
