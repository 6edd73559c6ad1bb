import type { SecureContextOptions } from 'node:tls';
import { diagnostic, spanOf, warning, type Diagnostic, type Span, type TlsProvider, type CertificateUnit } from '../../core/index.js';
import { checkPair, readPair, type CertPair } from './certs.js';
import type { TlsConfig } from './schema.js';

/** CertSource gives the self-signed certificate for the server a `tls` unit sits in. */
export type CertSource = () => CertPair;

/**
 * TlsUnit is one server's `tls`: its certificate (from files, or self-signed in memory), the
 * oldest protocol version it accepts, and the Strict-Transport-Security header it adds.
 */
export class TlsUnit implements CertificateUnit {
  private provider: TlsProvider | undefined;

  constructor(private readonly cfg: TlsConfig, private readonly at: Span, private readonly selfSigned: CertSource) {}

  /** validate checks the block's shape and the certificate files (so `gatekit check` catches a bad pair). */
  validate(): Diagnostic[] {
    const { cert, key, mode } = this.cfg;
    if (mode === 'self_signed') {
      return cert !== undefined || key !== undefined
        ? [diagnostic('GK_TLS_CONFLICT', "'tls self_signed' takes no cert or key", spanOf(this.cfg, cert !== undefined ? 'cert' : 'key') ?? this.at, 'drop self_signed to use the files, or drop cert and key')]
        : [];
    }
    if (cert === undefined || key === undefined) {
      const missing = cert === undefined && key === undefined ? 'cert and key' : cert === undefined ? 'cert' : 'key';
      return [diagnostic('GK_TLS_MISSING', `'tls' needs ${missing}`, this.at, 'tls { cert ./site.pem; key ./site.key }, or tls self_signed for development')];
    }
    return checkPair(cert, key).map((p) => (p.warning ? warning : diagnostic)(p.code, p.message, spanOf(this.cfg, p.field) ?? this.at, p.help));
  }

  /** tls gives the server's secure context options and headers; the certificate is read (or made) once. */
  tls(): TlsProvider {
    if (this.provider) return this.provider;
    const pair = this.cfg.mode === 'self_signed' ? this.selfSigned() : readPair(this.cfg.cert!, this.cfg.key!);
    const options: SecureContextOptions = { cert: pair.cert, key: pair.key, minVersion: minVersionOf(this.cfg.min_version) };
    const hsts = this.cfg.hsts;
    this.provider = {
      options,
      ...(hsts ? { headers: { 'strict-transport-security': hstsValue(hsts.max_age, hsts.flags ?? []) } } : {}),
    };
    return this.provider;
  }
}

function minVersionOf(v: TlsConfig['min_version']): 'TLSv1.2' | 'TLSv1.3' {
  return v === '1.3' || v === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2';
}

/** hstsValue renders Strict-Transport-Security: max-age in seconds, then the flags asked for. */
export function hstsValue(maxAgeMs: number, flags: readonly string[]): string {
  let v = `max-age=${Math.floor(maxAgeMs / 1000)}`;
  if (flags.includes('include_subdomains')) v += '; includeSubDomains';
  if (flags.includes('preload')) v += '; preload';
  return v;
}
