import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls';
import { selfSigned } from '../../plugins/tls/self-signed.js';
import { sharedDir } from '../../plugins/tls/shared.js';
import { runCli, runDirsIn, serve, type Served } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startGate, type TestGate } from '../helpers/gate.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  cert: PeerCertificate;
  protocol: string | null;
}

/** httpsGet makes one HTTPS request on 127.0.0.1 with the given TLS options (trust, SNI name, versions). */
function httpsGet(port: number, path: string, o: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, ...o }, (res) => {
      const socket = res.socket as TLSSocket;
      const cert = socket.getPeerCertificate();
      const protocol = socket.getProtocol();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, cert, protocol }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** handshake opens a TLS connection and says how it ended: 'completed', or the error code it failed with. */
function handshake(port: number, o: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ...o }, () => {
      socket.end();
      resolve('completed');
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** pemOf turns a peer certificate into PEM, so a test can trust exactly what the server sent. */
function pemOf(cert: PeerCertificate): string {
  return `-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
}

describe('tls over real sockets', () => {
  let gate: TestGate | undefined;
  let served: Served | undefined;
  let dir: string;
  const pairs: Record<string, { cert: string; key: string }> = {};
  const file = (name: string): string => join(dir, name);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-tls-it-'));
    for (const n of ['a.test', 'b.test']) {
      pairs[n] = selfSigned([n]);
      writeFileSync(file(`${n}.pem`), pairs[n].cert);
      writeFileSync(file(`${n}.key`), pairs[n].key);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await served?.stop();
    served = undefined;
  });

  const twoSites = (extraA = '', extraB = ''): string => `
    server a.test {
      listen 127.0.0.1:0 tls
      tls { cert "${file('a.test.pem')}"; key "${file('a.test.key')}"; ${extraA} }
      respond "site a over $scheme"
    }
    server b.test {
      listen 127.0.0.1:0 tls
      tls { cert "${file('b.test.pem')}"; key "${file('b.test.key')}"; ${extraB} }
      respond "site b"
    }`;

  it('chooses the certificate by SNI among servers on one listener, trusted by the client', async () => {
    gate = await startGate(twoSites());
    assert.equal(gate.addresses.length, 1, 'one shared listener');
    const a = await httpsGet(gate.port, '/', { servername: 'a.test', ca: pairs['a.test'].cert, headers: { host: 'a.test' } });
    assert.deepEqual([a.status, a.body, a.cert.subject.CN], [200, 'site a over https', 'a.test']);
    const b = await httpsGet(gate.port, '/', { servername: 'b.test', ca: pairs['b.test'].cert, headers: { host: 'b.test' } });
    assert.deepEqual([b.body, b.cert.subject.CN], ['site b', 'b.test']);
    await assert.rejects(httpsGet(gate.port, '/', { servername: 'b.test', ca: pairs['a.test'].cert }), /self.signed|unable to verify|certificate/i);
  });

  it('adds Strict-Transport-Security to every response of a server with hsts', async () => {
    gate = await startGate(twoSites('hsts 365d include_subdomains preload'));
    const a = await httpsGet(gate.port, '/x', { servername: 'a.test', ca: pairs['a.test'].cert, headers: { host: 'a.test' } });
    assert.equal(a.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains; preload');
    const b = await httpsGet(gate.port, '/x', { servername: 'b.test', ca: pairs['b.test'].cert, headers: { host: 'b.test' } });
    assert.equal(b.headers['strict-transport-security'], undefined);
  });

  it('keeps Strict-Transport-Security on cache hits over HTTPS, and never stores it for a plain-HTTP hit', async () => {
    const plainPort = await freePort();
    gate = await startGate(`server a.test {
      listen 127.0.0.1:0 tls
      listen 127.0.0.1:${plainPort}
      tls { cert "${file('a.test.pem')}"; key "${file('a.test.key')}"; hsts 1d }
      cache { header on; ttl 1m; key "$host$uri" }
      respond "cached"
    }`);
    const tls = { servername: 'a.test', ca: pairs['a.test'].cert, headers: { host: 'a.test' } };
    const seen = async (): Promise<[string, string | undefined]> => {
      const r = await httpsGet(gate!.port, '/c', tls);
      return [`${r.headers['x-cache'] as string} ${r.body}`, r.headers['strict-transport-security']];
    };
    assert.deepEqual(await seen(), ['MISS cached', 'max-age=86400']);
    assert.deepEqual(await seen(), ['HIT cached', 'max-age=86400']);
    const plain = await rawRequest(plainPort, 'GET /c HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    assert.match(plain.text, /^HTTP\/1\.1 200 [^]*\r\nx-cache: HIT\r\n/i);
    assert.doesNotMatch(plain.text, /strict-transport-security/i, "HSTS is the HTTPS listener's, not the entry's");
  });

  it('makes a self-signed certificate for the server names and localhost, which a client can pin', async () => {
    gate = await startGate('server app.test { listen 127.0.0.1:0 tls; tls self_signed; respond "dev" }');
    const first = await httpsGet(gate.port, '/', { servername: 'localhost', rejectUnauthorized: false });
    const ca = pemOf(first.cert);
    for (const name of ['app.test', 'localhost']) {
      const r = await httpsGet(gate.port, '/', { servername: name, ca, headers: { host: name } });
      assert.deepEqual([r.status, r.body], [200, 'dev'], name);
    }
    assert.match(String(first.cert.subjectaltname), /DNS:app\.test.*DNS:localhost.*IP Address:127\.0\.0\.1/);
  });

  it('makes a self-signed certificate once, in the master: every worker serves it and a reload keeps it', async function () {
    this.timeout(20_000);
    const gateFile = file('dev.gate');
    writeFileSync(gateFile, 'global { workers 2 }\nserver app.test {\n  listen 127.0.0.1:0 tls\n  tls self_signed\n  respond "$pid"\n}\n');
    served = serve(['run', gateFile], { env: { GATEKIT_SCHEDULING: 'rr', TMPDIR: dir } }); // round-robin: a few connections reach both workers
    const port = Number((await served.waitFor(/listening worker=1 url=https:\/\/127\.0\.0\.1:(\d+)/, 8000))[1]);
    await served.waitFor(/master running/, 8000);
    const look = async (): Promise<{ pids: Set<string>; certs: Set<string> }> => {
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await httpsGet(port, '/', { servername: 'app.test', rejectUnauthorized: false }));
      return { pids: new Set(answers.map((a) => a.body)), certs: new Set(answers.map((a) => a.cert.fingerprint256)) };
    };
    const before = await look();
    assert.equal(before.pids.size, 2, 'both workers answered');
    assert.equal(before.certs.size, 1, 'with one certificate');
    served.child.kill('SIGHUP');
    await served.waitFor(/reloaded: new workers ready/, 8000);
    const after = await look();
    assert.ok(
      [...after.pids].every((p) => !before.pids.has(p)),
      'new workers answered',
    );
    assert.deepEqual(after.certs, before.certs, 'with the same certificate');
    const runDir = runDirsIn(dir).find((d) => existsSync(sharedDir(d)));
    assert.ok(runDir, 'the key is handed over in a run folder');
    assert.equal(statSync(runDir).mode & 0o777, 0o700, 'that only this user may enter');
    await served.stop();
    assert.deepEqual(runDirsIn(dir), [], 'and removed with the master');
  });

  it('keeps the self-signed certificate and the port across a reload with workers 0', async function () {
    this.timeout(20_000);
    const gateFile = file('single.gate');
    writeFileSync(gateFile, 'global { workers 0 }\nserver app.test {\n  listen 127.0.0.1:0 tls\n  tls self_signed\n  respond "ok"\n}\n');
    served = serve(['run', gateFile]);
    const port = Number((await served.waitFor(/listening url=https:\/\/127\.0\.0\.1:(\d+)/, 8000))[1]);
    const cert = async (): Promise<string> => (await httpsGet(port, '/', { servername: 'app.test', rejectUnauthorized: false })).cert.fingerprint256;
    const before = await cert();
    served.child.kill('SIGHUP');
    await served.waitFor(/info reloaded/, 8000);
    assert.equal(await cert(), before);
  });

  it('accepts TLS 1.2 and 1.3 by default', async () => {
    gate = await startGate(twoSites());
    const o = { servername: 'a.test', ca: pairs['a.test'].cert };
    assert.equal((await httpsGet(gate.port, '/', { ...o, maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
    assert.equal((await httpsGet(gate.port, '/', o)).protocol, 'TLSv1.3');
  });

  it('refuses an older protocol than min_version', async () => {
    gate = await startGate(twoSites('min_version 1.3'));
    const o = { servername: 'a.test', ca: pairs['a.test'].cert };
    assert.equal((await httpsGet(gate.port, '/', o)).protocol, 'TLSv1.3');
    const old = await httpsGet(gate.port, '/', { ...o, maxVersion: 'TLSv1.2' }).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    assert.match(old, /protocol|version|alert|disconnected|ECONNRESET|hang up/i);
  });

  it('answers 421 to a request for a server whose min_version the connection, made for another name, is below', async () => {
    gate = await startGate(twoSites('', 'min_version 1.3'));
    const o = { servername: 'a.test', ca: pairs['a.test'].cert, maxVersion: 'TLSv1.2' as const };
    assert.equal((await httpsGet(gate.port, '/', { ...o, headers: { host: 'a.test' } })).status, 200);
    const other = await httpsGet(gate.port, '/', { ...o, headers: { host: 'b.test' } });
    assert.deepEqual([other.status, other.protocol], [421, 'TLSv1.2']);
  });

  it('answers 421 over HTTP/2 too, to a stream for a server whose min_version the connection is below', async () => {
    gate = await startGate(twoSites('', 'min_version 1.3'));
    const session = h2connect(`https://127.0.0.1:${gate.port}`, { servername: 'a.test', ca: pairs['a.test'].cert, maxVersion: 'TLSv1.2' });
    try {
      const status = (authority: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const stream = session.request({ ':path': '/', ':authority': authority });
          stream.on('response', (h) => resolve(Number(h[':status'])));
          stream.on('error', reject);
          stream.resume();
        });
      assert.deepEqual([await status('a.test'), await status('b.test')], [200, 421]);
      assert.equal((session.socket as TLSSocket).getProtocol(), 'TLSv1.2');
    } finally {
      session.close();
    }
  });

  it('refuses TLS 1.2 at the handshake, with a protocol_version alert, when every server on the listener asks for 1.3', async () => {
    gate = await startGate(twoSites('min_version 1.3', 'min_version 1.3'));
    const o = { servername: 'a.test', ca: pairs['a.test'].cert };
    assert.equal(await handshake(gate.port, o), 'completed');
    assert.equal(await handshake(gate.port, { ...o, maxVersion: 'TLSv1.2' }), 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    assert.equal(
      await handshake(gate.port, { ca: pairs['a.test'].cert, checkServerIdentity: () => undefined, maxVersion: 'TLSv1.2' }),
      'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      'without SNI',
    );
  });

  it('answers plain HTTP sent to a TLS address with 400 and closes, and still serves TLS on it', async () => {
    gate = await startGate(twoSites());
    const plain = await rawRequest(gate.port, 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n');
    assert.equal(plain.status, 400);
    assert.match(plain.text, /\r\nconnection: close\r\n/i);
    assert.match(plain.text, /plain HTTP request was sent to an HTTPS port/);
    assert.ok(plain.closed, 'the server closed the connection');
    const options = await rawRequest(gate.port, 'OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n'); // OpenSSL names only GET, POST, HEAD, PUT
    assert.equal(options.status, 400);
    const a = await httpsGet(gate.port, '/', { servername: 'a.test', ca: pairs['a.test'].cert, headers: { host: 'a.test' } });
    assert.deepEqual([a.status, a.body], [200, 'site a over https']);
  });

  it('serves a client that sends no SNI (an IP address) with the default server', async () => {
    gate = await startGate(twoSites());
    const r = await httpsGet(gate.port, '/', { ca: pairs['a.test'].cert, checkServerIdentity: () => undefined }).catch((e: Error) => e);
    if (r instanceof Error) throw r;
    assert.equal(r.body, 'site a over https');
  });

  it('makes `gatekit check` fail, at the listen, on a TLS address served by a server with no certificate', async () => {
    const gateFile = file('no-cert.gate');
    writeFileSync(
      gateFile,
      [
        'server a.test {',
        '  listen 8443 tls',
        '  tls { cert a.test.pem; key a.test.key }',
        '  respond "a"',
        '}',
        'server b.test {',
        '    listen 8443 tls',
        '  respond "b"',
        '}',
        'server c.test {',
        '  listen 8080',
        '      listen 8444 tls',
        '  respond "c"',
        '}',
        '',
      ].join('\n'),
    );
    const r = await runCli(['check', gateFile]);
    assert.equal(r.code, 1);
    const errors = (r.stdout + r.stderr).match(/^.*: error: .*$/gm) ?? [];
    assert.deepEqual(
      errors.map((e) => e.replace(/^.*no-cert\.gate:/, '')),
      [
        "7:5: error: 'listen 8443 tls' needs a certificate, and this server has none",
        "12:7: error: 'listen 8444 tls' needs a certificate, and this server has none",
      ],
    );
  });

  it('makes `gatekit check` warn, at the tls block, about a certificate and HSTS in a server with no TLS address', async () => {
    const gateFile = file('plain.gate');
    writeFileSync(gateFile, 'server {\n  listen 8080\n  tls self_signed { hsts 1d }\n  respond "x"\n}\n');
    const r = await runCli(['check', gateFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /plain\.gate:3:3: warning: 'tls' is never used: this server has no 'listen \.\.\. tls'\n/);
    assert.match(r.stderr, /^0 errors, 1 warning$/m);
  });

  for (const workers of [0, 1]) {
    it(`logs the warnings of the config as \`gatekit run\` starts (workers ${workers}): an expired certificate`, async () => {
      const gateFile = file('old.gate');
      // testdata/expired.pem was valid on 2001-01-01 only (no tool at hand backdates one at test time)
      const [cert, key] = ['pem', 'key'].map((ext) => repoPath('plugins', 'tls', 'testdata', `expired.${ext}`));
      writeFileSync(gateFile, `global { workers ${workers} }\nserver {\n  listen 127.0.0.1:0 tls\n  tls { cert "${cert}"; key "${key}" }\n  respond "x"\n}\n`);
      served = serve(['run', gateFile]);
      await served.waitFor(/listening .*url=https/, 5000);
      assert.match(served.output(), /warn .*old\.gate:4:14: warning: certificate '.*expired\.pem' expired on 2001-01-02/);
    });
  }

  it('makes `gatekit check` fail on a key that does not match its certificate', async () => {
    const gateFile = file('bad.gate');
    writeFileSync(gateFile, `server {\n  listen 8443 tls\n  tls { cert a.test.pem; key b.test.key }\n  respond "x"\n}\n`);
    const r = await runCli(['check', gateFile]);
    assert.equal(r.code, 1);
    assert.match(r.stdout + r.stderr, /bad\.gate:3:30: error: key '.*b\.test\.key' does not match certificate '.*a\.test\.pem'/);
  });
});
