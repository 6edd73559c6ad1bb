import { injectable, type Plugin, type Span, type Unit, type UnitPlace } from '../../core/index.js';
import type { CertPair } from './certs.js';
import { TlsUnit } from './provider.js';
import { tls, type TlsConfig } from './schema.js';
import { selfSigned } from './self-signed.js';

/** TlsPlugin owns `tls`: certificates for `listen ... tls`, by SNI, with min_version and HSTS. */
@injectable()
export class TlsPlugin implements Plugin {
  readonly name = 'tls';
  readonly directives = [tls];
  /** made keeps self-signed certificates by host names, so each is generated once per worker. */
  private readonly made = new Map<string, CertPair>();

  create(_directive: string, config: unknown, at: Span, place?: UnitPlace): Unit {
    const names = place?.server?.names ?? [];
    return new TlsUnit(config as TlsConfig, at, () => this.selfSigned(names));
  }

  /** selfSigned makes (once) a certificate for the host names of the server a `tls` sits in. */
  private selfSigned(names: readonly string[]): CertPair {
    const key = names.join(' ');
    let pair = this.made.get(key);
    if (!pair) this.made.set(key, (pair = selfSigned([...names])));
    return pair;
  }
}
