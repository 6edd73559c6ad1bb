import { X509Certificate } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:tls';
import type { Address, ListenPlace } from '../../core/index.js';
import type { Challenge } from './acme-settings.js';

/** PROBE_FOR is how long the master waits for its own listeners to answer a challenge before it asks the CA anyway. */
const PROBE_FOR = 30_000;

/**
 * selfCheck waits until gatekit's own listeners give the answer to a challenge, so the CA is
 * told to look only once the workers (which may still be starting) can show it: for HTTP-01 a
 * GET on a plain-HTTP listener with the name as Host, for TLS-ALPN-01 a handshake offering
 * acme-tls/1 on a TLS listener of the name's server. Resolves false when none answered in time
 * (the CA may reach the server another way, through a port forward: it is asked anyway).
 */
export async function selfCheck(type: Challenge, name: string, token: string, expected: string, listens: readonly ListenPlace[]): Promise<boolean> {
  const probes = targets(type, name, listens).map((a) => (type === 'http-01' ? () => httpProbe(a, name, token, expected) : () => alpnProbe(a, name, expected)));
  if (probes.length === 0) return false;
  const until = Date.now() + PROBE_FOR;
  for (let wait = 50; Date.now() < until; wait = Math.min(wait * 2, 1000)) {
    for (const p of probes) if (await p()) return true;
    await new Promise((r) => setTimeout(r, wait)); // the listener is not up yet: try again shortly
  }
  return false;
}

/** targets lists the TCP addresses that answer a challenge: any plain listener (HTTP-01 is answered before routing), or the name's TLS listeners. */
export function targets(type: Challenge, name: string, listens: readonly ListenPlace[]): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const l of listens) {
    if (l.address.kind !== 'tcp' || l.tls !== (type === 'tls-alpn-01')) continue;
    if (type === 'tls-alpn-01' && !l.names.includes(name)) continue;
    out.push({ host: loopbackFor(l.address), port: l.address.port });
  }
  return out;
}

function loopbackFor(a: Extract<Address, { kind: 'tcp' }>): string {
  const h = (a.host ?? '').replace(/^\[|\]$/g, '');
  return h === '' || h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '::1' : h;
}

function httpProbe(a: { host: string; port: number }, name: string, token: string, expected: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: a.host, port: a.port, path: `/.well-known/acme-challenge/${token}`, headers: { host: name }, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve(res.statusCode === 200 && body === expected));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function alpnProbe(a: { host: string; port: number }, name: string, expectedCert: string): Promise<boolean> {
  const fingerprint = new X509Certificate(expectedCert).fingerprint256;
  return new Promise((resolve) => {
    const s = connect({ host: a.host, port: a.port, servername: name, ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false, timeout: 2000 }, () => {
      const ok = s.alpnProtocol === 'acme-tls/1' && s.getPeerX509Certificate()?.fingerprint256 === fingerprint;
      s.destroy();
      resolve(ok);
    });
    s.on('timeout', () => s.destroy());
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(false));
  });
}
