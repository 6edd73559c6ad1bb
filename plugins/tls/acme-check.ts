import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { diagnostic, spanOf, warning, type Diagnostic, type Span, type UnitPlace } from '../../core/index.js';
import { CA_NAMES, type Challenge } from './acme-settings.js';
import { ACME_ONLY, type TlsConfig } from './schema.js';

/** checkAcmeOptions reports `tls acme` options used in a `tls` block that is not acme. */
export function checkAcmeOptions(cfg: TlsConfig, at: Span): Diagnostic[] {
  return ACME_ONLY.filter((o) => cfg[o] !== undefined).map((o) =>
    diagnostic(
      'GK_TLS_ACME_ONLY',
      `'${o}' belongs to 'tls acme'`,
      spanOf(cfg, o) ?? at,
      `write tls acme { ${o} ... } to have a CA issue the certificate, or drop '${o}'`,
    ),
  );
}

/**
 * checkAcme reports what stops a CA from issuing a `tls acme` certificate, at `check`: no host
 * names, an IP address or a wildcard among them (the first needs a CA that issues for IPs, the
 * second DNS-01, neither of which gatekit does), cert and key beside it, or no listener where
 * the CA's challenge can be answered.
 */
export function checkAcme(cfg: TlsConfig, at: Span, place: UnitPlace | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const names = place?.server?.names ?? [];
  const where = place?.server?.span ?? at;
  for (const f of ['cert', 'key'] as const) {
    if (cfg[f] !== undefined)
      out.push(
        diagnostic(
          'GK_TLS_CONFLICT',
          `'tls ${cfg.mode}' takes no ${f}: the CA issues the certificate`,
          spanOf(cfg, f) ?? at,
          'drop cert and key, or drop acme to use the files',
        ),
      );
  }
  if (names.length === 0) {
    out.push(
      diagnostic(
        'GK_TLS_ACME_NAMES',
        `'tls ${cfg.mode}' needs the server's host names, and this server has none`,
        at,
        'name the server: server example.com www.example.com { ... }',
      ),
    );
  }
  for (const n of names) {
    if (isIP(n.replace(/^\[|\]$/g, '')))
      out.push(
        diagnostic(
          'GK_TLS_ACME_IP',
          `'tls ${cfg.mode}' cannot get a certificate for the IP address ${n}`,
          where,
          'ACME CAs issue for DNS names; use tls { cert; key } or tls self_signed for an address',
        ),
      );
    else if (n.startsWith('*.'))
      out.push(
        diagnostic(
          'GK_TLS_ACME_WILDCARD',
          `'tls ${cfg.mode}' cannot get a certificate for the wildcard ${n}`,
          where,
          'a wildcard needs the DNS-01 challenge, which gatekit does not do; list the names, or use tls { cert; key }',
        ),
      );
  }
  if (cfg.email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(cfg.email)) {
    out.push(
      warning(
        'GK_TLS_ACME_EMAIL',
        `'${cfg.email}' does not look like an email address`,
        spanOf(cfg, 'email') ?? at,
        'the CA will likely refuse the account: email admin@example.com',
      ),
    );
  }
  if (cfg.ca_root !== undefined) {
    try {
      readFileSync(cfg.ca_root, 'utf8');
    } catch (e) {
      out.push(
        diagnostic(
          'GK_TLS_FILE',
          `cannot read ca_root '${cfg.ca_root}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          spanOf(cfg, 'ca_root') ?? at,
        ),
      );
    }
  }
  out.push(...checkStorage(cfg, at, place), ...checkListeners(cfg, at, names, place));
  return out;
}

/** checkStorage reports `storage redis` in a config without `global { store }`, and a second folder given to a plain storage folder. */
function checkStorage(cfg: TlsConfig, at: Span, place: UnitPlace | undefined): Diagnostic[] {
  const s = cfg.storage;
  if (s === undefined) return [];
  const span = spanOf(cfg, 'storage') ?? at;
  if (s.dir === 'redis' && !place?.store) {
    return [
      diagnostic(
        'GK_TLS_ACME_NO_STORE',
        "'storage redis' needs the global store, and this config has none",
        span,
        'add global { store redis://HOST:PORT { password ${REDIS_PASSWORD} } }, or give storage a folder',
      ),
    ];
  }
  if (s.dir !== 'redis' && s.copy !== undefined) {
    return [
      diagnostic(
        'GK_TLS_ACME_STORAGE',
        `'storage' takes one folder; a second one is the local copy of 'storage redis'`,
        span,
        `storage ${s.dir}, or storage redis ${s.copy}`,
      ),
    ];
  }
  return [];
}

/** checkListeners reports a challenge no listener can answer (HTTP-01: a plain TCP listener; TLS-ALPN-01: a TLS one of this server). */
function checkListeners(cfg: TlsConfig, at: Span, names: readonly string[], place: UnitPlace | undefined): Diagnostic[] {
  const challenge = (cfg.challenge as Challenge | undefined) ?? 'http-01';
  const span = spanOf(cfg, 'challenge') ?? at;
  const listens = place?.listens ?? [];
  const usable =
    challenge === 'http-01'
      ? listens.filter((l) => !l.tls && l.address.kind === 'tcp')
      : listens.filter((l) => l.tls && l.address.kind === 'tcp' && names.some((n) => l.names.includes(n)));
  if (usable.length === 0) {
    return [
      diagnostic(
        'GK_TLS_ACME_NO_LISTENER',
        challenge === 'http-01'
          ? `no listener can answer the CA's http-01 challenge for ${names.join(' ') || 'this server'}: the config has no plain-HTTP TCP listener`
          : `no listener can answer the CA's tls-alpn-01 challenge for ${names.join(' ') || 'this server'}: this server has no TCP 'listen ... tls'`,
        span,
        challenge === 'http-01'
          ? 'add a server with listen 80 (a redirect https one will do: challenges are answered before it)'
          : 'add listen 443 tls to this server, or use challenge http-01',
      ),
    ];
  }
  const port = challenge === 'http-01' ? 80 : 443;
  const publicCa = Object.values(CA_NAMES).includes(cfg.ca === undefined ? CA_NAMES.letsencrypt : (CA_NAMES[cfg.ca] ?? cfg.ca));
  if (publicCa && !usable.some((l) => l.address.kind === 'tcp' && l.address.port === port)) {
    return [
      warning(
        'GK_TLS_ACME_PORT',
        `Let's Encrypt checks ${challenge} on port ${port}, and no listener here is on it`,
        span,
        `listen on ${port}, or forward port ${port} to ${usable[0].address.text}`,
      ),
    ];
  }
  return [];
}
