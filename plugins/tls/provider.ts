import type { SecureContextOptions } from 'node:tls';
import {
  diagnostic,
  spanOf,
  warning,
  type CertificateUnit,
  type Diagnostic,
  type Logger,
  type Span,
  type TlsProvider,
  type UnitPlace,
} from '../../core/index.js';
import { checkAcme, checkAcmeOptions } from './acme-check.js';
import { acmeSettings, isAcme, localStorage } from './acme-settings.js';
import { AcmeSource } from './acme-source.js';
import { checkPair, readPair, type CertPair } from './certs.js';
import { ocspSubject } from './ocsp-subject.js';
import { Staples } from './ocsp-staples.js';
import { ocspDir } from './ocsp-store.js';
import type { TlsConfig } from './schema.js';

/** CertSource gives the self-signed certificate for the server a `tls` unit sits in. */
export type CertSource = () => CertPair;

/**
 * TlsUnit is one server's `tls`: its certificate (from files, self-signed in memory, or from an
 * ACME CA through the master), the oldest protocol version it accepts, and the
 * Strict-Transport-Security header it adds.
 */
export class TlsUnit implements CertificateUnit {
  private provider: TlsProvider | undefined;
  private acme: AcmeSource | undefined;
  private staples: Staples | undefined;

  constructor(
    private readonly cfg: TlsConfig,
    private readonly at: Span,
    private readonly selfSigned: CertSource,
    private readonly place?: UnitPlace,
    private readonly log?: Logger,
  ) {}

  /** validate checks the block's shape and the certificate files (so `gatekit check` catches a bad pair). */
  validate(): Diagnostic[] {
    const { cert, key, mode } = this.cfg;
    if (isAcme(this.cfg)) return checkAcme(this.cfg, this.at, this.place);
    const misplaced = checkAcmeOptions(this.cfg, this.at);
    if (misplaced.length) return misplaced;
    if (mode === 'self_signed') {
      return cert !== undefined || key !== undefined
        ? [
            diagnostic(
              'GK_TLS_CONFLICT',
              "'tls self_signed' takes no cert or key",
              spanOf(this.cfg, cert !== undefined ? 'cert' : 'key') ?? this.at,
              'drop self_signed to use the files, or drop cert and key',
            ),
          ]
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
    if (isAcme(this.cfg)) return (this.provider = this.acmeProvider());
    if (this.cfg.mode === 'self_signed') return (this.provider = { options: this.options(this.selfSigned()), ...this.headers() });
    const pair = readPair(this.cfg.cert!, this.cfg.key!);
    this.provider = { options: this.options(pair), ...this.headers(), ...(staplesFile(pair) ? this.ocsp(localStorage(this.cfg)) : {}) };
    return this.provider;
  }

  /** acmeProvider serves the certificate the master keeps in storage, swaps in its renewals, and answers the CA's challenges. */
  private acmeProvider(): TlsProvider {
    const s = acmeSettings(this.cfg, this.place?.server?.names ?? []);
    const source = (this.acme = new AcmeSource(s, this.selfSigned, this.log!));
    return {
      options: this.options(source.pair),
      ...this.headers(),
      ...this.ocsp(s.storage),
      watch: (update) => source.watch((pair) => update(this.options(pair))),
      http01: (host, token) => source.http01(host, token),
      tlsAlpn01: (name) => {
        const p = source.tlsAlpn01(name);
        return p && { cert: p.cert, key: p.key };
      },
    };
  }

  /** ocsp staples what the master stores in `storage` (unless ocsp_stapling is off). */
  private ocsp(storage: string): Pick<TlsProvider, 'ocsp'> {
    if (this.cfg.ocsp_stapling === false) return {};
    const staples = (this.staples = new Staples(ocspDir(storage)));
    return { ocsp: (certificate) => staples.staple(certificate) };
  }

  private options(pair: CertPair): SecureContextOptions {
    return { cert: pair.cert, key: pair.key, minVersion: minVersionOf(this.cfg.min_version) };
  }

  private headers(): Pick<TlsProvider, 'headers'> {
    const hsts = this.cfg.hsts;
    return hsts ? { headers: { 'strict-transport-security': hstsValue(hsts.max_age, hsts.flags ?? []) } } : {};
  }

  /** close stops watching the storage folders. */
  async close(): Promise<void> {
    this.acme?.close();
    this.staples?.close();
  }
}

/** staplesFile tells whether a certificate from files can be stapled: it names a responder and its chain has the issuer. */
function staplesFile(pair: CertPair): boolean {
  try {
    return typeof ocspSubject(pair.cert) !== 'string';
  } catch {
    return false;
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
