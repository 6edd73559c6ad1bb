import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TlsConfig } from './schema.js';

/** CA_NAMES are the short names `ca` accepts for well-known directories. */
export const CA_NAMES: Readonly<Record<string, string>> = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  letsencrypt_staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
};

/** Challenge is how the CA checks that we control a name. */
export type Challenge = 'http-01' | 'tls-alpn-01';

/** AcmeSettings are one `tls acme` block with its defaults filled in, and the names it covers. */
export interface AcmeSettings {
  /** names are the server's host names: one certificate covers them all. */
  readonly names: readonly string[];
  readonly directory: string;
  readonly caRoot?: string;
  readonly email?: string;
  readonly challenge: Challenge;
  /** storage is the folder this machine's workers read: the storage itself, or with `shared` the local copy of the store's. */
  readonly storage: string;
  /** shared says the certificates, keys, locks and challenges live in the global store (`storage redis`). */
  readonly shared: boolean;
  readonly renewBefore: number;
  readonly retry: number;
}

const DAY = 86_400_000;

/** acmeSettings fills in a `tls acme` (or `tls auto`) block's defaults, as Caddy's would be. */
export function acmeSettings(cfg: TlsConfig, names: readonly string[]): AcmeSettings {
  const ca = cfg.ca ?? 'letsencrypt';
  return {
    names,
    directory: CA_NAMES[ca] ?? ca,
    ...(cfg.ca_root ? { caRoot: cfg.ca_root } : {}),
    ...(cfg.email ? { email: cfg.email } : {}),
    challenge: (cfg.challenge as Challenge | undefined) ?? 'http-01',
    storage: localStorage(cfg),
    shared: cfg.storage?.dir === 'redis',
    renewBefore: cfg.renew_before ?? 30 * DAY,
    retry: cfg.retry ?? 60_000,
  };
}

/** localStorage is the folder this machine keeps certificates and OCSP staples in: `storage DIR`, the copy of `storage redis [DIR]`, or the default. */
export function localStorage(cfg: TlsConfig): string {
  return (cfg.storage?.dir === 'redis' ? cfg.storage.copy : cfg.storage?.dir) ?? defaultStorage();
}

/** defaultStorage is where certificates go when `storage` is not set: gatekit's folder under XDG_DATA_HOME. */
export function defaultStorage(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share'), 'gatekit', 'acme');
}

/** isAcme tells whether a `tls` block asks for certificates from an ACME CA. */
export function isAcme(cfg: TlsConfig): boolean {
  return cfg.mode === 'acme' || cfg.mode === 'auto';
}

/** MAX_RETRY caps the wait between failed attempts, as Caddy's backoff does. */
export const MAX_RETRY = DAY;

/**
 * renewalTime is when a certificate valid from `notBefore` to `notAfter` is renewed:
 * `renewBefore` ahead of its expiry, or at two thirds of its life when the window is longer
 * than the certificate's whole life (a short-lived certificate would otherwise renew forever).
 */
export function renewalTime(notBefore: number, notAfter: number, renewBefore: number): number {
  const life = notAfter - notBefore;
  return renewBefore < life ? notAfter - renewBefore : notBefore + Math.floor((life * 2) / 3);
}
