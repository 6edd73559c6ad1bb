import acme from 'acme-client';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, get } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { AcmeSettings, Challenge } from './acme-settings.js';
import type { AcmeStorage } from './acme-storage.js';
import type { CertPair } from './certs.js';

/** ChallengeResponder publishes the answer to one challenge where the CA will look, and takes it down after. */
export interface ChallengeResponder {
  present(type: Challenge, name: string, token: string, keyAuthorization: string): Promise<void>;
  remove(type: Challenge, name: string, token: string): Promise<void>;
}

/** agents holds an HTTPS agent per CA origin that has its own `ca_root`. */
const agents = new Map<string, Agent>();
// acme-client talks through one axios instance: give each request its CA's agent, and leave
// retries to the manager's backoff (its own would wait up to 75 s before a failure is logged).
acme.axios.interceptors.request.use((config) => {
  const agent = config.url ? agents.get(new URL(config.url).origin) : undefined;
  if (agent) config.httpsAgent = agent;
  return config;
});
(acme.axios.defaults as { acmeSettings?: { retryMaxAttempts: number } }).acmeSettings!.retryMaxAttempts = 0;

/** trustRoot makes requests to a CA's origin trust its `ca_root` besides the usual roots. */
function trustRoot(directory: string, caRoot: string | undefined): void {
  if (!caRoot) return;
  const origin = new URL(directory).origin;
  agents.set(origin, new Agent({ ca: [...rootCertificates, readFileSync(caRoot, 'utf8')], keepAlive: false }));
}

/**
 * obtainCertificate orders one certificate for `s.names` from the CA with acme-client (RFC 8555):
 * the account (made on first use, kept in the store), a fresh ECDSA P-256 key (Caddy's default),
 * one challenge of the configured type per name through `responder`, then the chain.
 */
export async function obtainCertificate(s: AcmeSettings, store: AcmeStorage, responder: ChallengeResponder): Promise<CertPair> {
  trustRoot(s.directory, s.caRoot);
  await reachable(s.directory);
  const account = (await store.readAccount(s.directory, s.email)) ?? { key: newKey() };
  const client = new acme.Client({ directoryUrl: s.directory, accountKey: account.key, ...(account.url ? { accountUrl: account.url } : {}) });
  if (!account.url) {
    await client.createAccount({ termsOfServiceAgreed: true, ...(s.email ? { contact: [`mailto:${s.email}`] } : {}) });
    await store.writeAccount(s.directory, s.email, { key: account.key, url: client.getAccountUrl() });
  }
  const key = newKey();
  const [, csr] = await acme.crypto.createCsr({ commonName: s.names[0], altNames: [...s.names] }, key);
  const cert = await client.auto({
    csr,
    termsOfServiceAgreed: true,
    skipChallengeVerification: true,
    challengePriority: [s.challenge],
    challengeCreateFn: async (authz, challenge, keyAuthorization) => {
      const name = authz.identifier.value;
      if (challenge.type !== s.challenge) {
        throw new Error(`the CA offers no ${s.challenge} challenge for ${name} (it offers ${authz.challenges.map((c) => c.type).join(', ')})`);
      }
      await responder.present(s.challenge, name, (challenge as { token: string }).token, keyAuthorization);
    },
    challengeRemoveFn: async (authz, challenge) => {
      if (challenge.type === s.challenge) await responder.remove(s.challenge, authz.identifier.value, (challenge as { token: string }).token);
    },
  });
  return { cert, key };
}

/**
 * reachable fetches the CA's directory once, so that a CA we cannot reach (refused, no such
 * host, a certificate we do not trust) is reported as such: acme-client 5.4 turns a request
 * that got no response into "Cannot read properties of undefined (reading 'config')".
 */
function reachable(directory: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => reject(Object.assign(new Error(`cannot reach the CA at ${directory}: ${why}`), { unreachable: true }));
    const agent = agents.get(new URL(directory).origin);
    const req = get(directory, { ...(agent ? { agent } : {}), timeout: 15_000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else fail(`its directory answered ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 15s')));
    req.on('error', (e: NodeJS.ErrnoException) => fail(e.code && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message));
  });
}

/** alpnCertificate makes the self-signed certificate that answers a TLS-ALPN-01 challenge (RFC 8737 3). */
export async function alpnCertificate(name: string, keyAuthorization: string): Promise<CertPair> {
  const authz = { identifier: { type: 'dns', value: name } } as Parameters<typeof acme.crypto.createAlpnCertificate>[0];
  const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, newKey());
  return { cert: cert.toString(), key: key.toString() };
}

function newKey(): string {
  return generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
}
