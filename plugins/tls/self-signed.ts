import { generateKeyPairSync } from 'node:crypto';
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import type { CertPair } from './certs.js';

const LOCAL = ['localhost', '127.0.0.1', '::1'];
const require = createRequire(import.meta.url);

/**
 * selfSigned makes a development certificate for `names` (plus localhost, 127.0.0.1 and ::1),
 * valid for a year, in memory. The RSA key comes from node:crypto (native and fast); the
 * selfsigned package builds and signs the certificate, synchronously.
 */
export function selfSigned(names: readonly string[]): CertPair {
  const all = [...new Set([...names.map((n) => n.replace(/^\[|\]$/g, '')), ...LOCAL])];
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  // the subject is written as PrintableString, which has no '_': Chromium and Go refuse such a certificate outright
  const { generate } = require('selfsigned') as typeof import('selfsigned'); // node-forge loads only where a certificate is made
  const pems = generate(
    [
      { name: 'commonName', value: all[0] },
      { name: 'organizationName', value: 'gatekit self-signed' },
    ],
    {
      keyPair: { privateKey: keys.privateKey, publicKey: keys.publicKey },
      days: 365,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: all.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
      ],
    } as Parameters<typeof generate>[1],
  );
  return { cert: pems.cert, key: keys.privateKey };
}
