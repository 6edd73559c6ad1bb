import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { startGate, type TestGate } from '../helpers/gate.js';
import { repoPath } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  cert?: PeerCertificate;
}

function fetchOn(url: URL, o: { ca?: string; insecure?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const common = { host: '127.0.0.1', port: url.port, path: url.pathname + url.search, headers: { host: url.host }, agent: false as const };
    const onRes = (res: import('node:http').IncomingMessage): void => {
      const cert = url.protocol === 'https:' ? (res.socket as TLSSocket).getPeerCertificate() : undefined;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(cert ? { cert } : {}) }));
    };
    const req =
      url.protocol === 'https:'
        ? httpsRequest({ ...common, servername: url.hostname, ...(o.ca ? { ca: o.ca } : {}), rejectUnauthorized: !o.insecure }, onRes)
        : httpRequest(common, onRes);
    req.on('error', reject);
    req.end();
  });
}

describe('the https-redirect sample: port 80 to 443 with tls self_signed', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('redirects plain HTTP to the same URI over HTTPS, where a client trusting the certificate is served', async () => {
    const file = repoPath('samples', 'https-redirect', 'gatekit.gate');
    const env = { HTTP_PORT: String(await freePort()), HTTPS_PORT: String(await freePort()) };
    gate = await startGate(readFileSync(file, 'utf8'), { file, env });

    const first = await fetchOn(new URL(`http://localhost:${env.HTTP_PORT}/some/page?x=1&y=%20`));
    assert.equal(first.status, 301);
    const location = new URL(String(first.headers.location));
    assert.equal(location.href, `https://localhost:${env.HTTPS_PORT}/some/page?x=1&y=%20`);

    const pin = await fetchOn(location, { insecure: true }); // learn the in-memory certificate once...
    const ca = `-----BEGIN CERTIFICATE-----\n${pin.cert!.raw.toString('base64')}\n-----END CERTIFICATE-----\n`;
    const secure = await fetchOn(location, { ca }); // ...then trust only it, hostname checked
    assert.equal(secure.status, 200);
    assert.equal(secure.body, 'hello over https: /some/page?x=1&y=%20\n');
    assert.equal(secure.headers['strict-transport-security'], 'max-age=86400');
  });
});
