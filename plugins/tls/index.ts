import { bind, inject, injectable, LOGGER, PROCESS_INFO, type Logger, type MasterContext, type MasterDirective, type MasterPart, type Plugin, type ProcessInfo } from '../../core/index.js';
import type { CertPair } from './certs.js';
import { TlsUnit } from './provider.js';
import { tls, type TlsConfig } from './schema.js';
import { selfSigned } from './self-signed.js';
import { readShared, SharedCertificates, sharedDir } from './shared.js';

/**
 * made keeps self-signed certificates by host names, so each is generated (or read) once per
 * process: with workers 0, the generations a reload makes in the one process serve the same.
 */
const made = new Map<string, CertPair>();

/**
 * TlsPlugin owns `tls`: certificates for `listen ... tls`, by SNI, with min_version and HSTS.
 * With workers, the master makes each self-signed certificate (SharedCertificates), so every
 * worker, and the workers after a reload, serve the same one.
 */
@injectable()
export class TlsPlugin implements Plugin {
  readonly name = 'tls';
  readonly directives = [bind(tls, (cfg, at, place) => new TlsUnit(cfg, at, () => this.selfSigned(place.server?.names ?? [])))];

  constructor(@inject(LOGGER) private readonly log: Logger, @inject(PROCESS_INFO) private readonly proc: ProcessInfo) {}

  master(directives: readonly MasterDirective<TlsConfig>[], ctx: MasterContext): MasterPart | undefined {
    if (this.proc.role !== 'master') return undefined; // workers 0: the one process makes its own
    const before = ctx.previous instanceof SharedCertificates ? ctx.previous.pairs : undefined;
    const pairs = new Map<string, CertPair>();
    for (const d of directives) {
      if (d.config.mode !== 'self_signed') continue;
      const names = d.place.server?.names ?? [];
      const key = names.join(' ');
      if (!pairs.has(key)) pairs.set(key, before?.get(key) ?? selfSigned(names));
    }
    return pairs.size ? new SharedCertificates(pairs, sharedDir(process.pid, ctx.generation)) : undefined;
  }

  /** selfSigned gives (once) the certificate for the host names of the server a `tls` sits in: the master's, in a worker. */
  private selfSigned(names: readonly string[]): CertPair {
    const key = names.join(' ');
    let pair = made.get(key);
    if (pair) return pair;
    pair = this.proc.role === 'worker' ? readShared(sharedDir(process.ppid, this.proc.generation), key) : undefined;
    if (!pair && this.proc.role === 'worker') this.log.warn('no self-signed certificate from the master; this worker makes its own', { plugin: this.name, names: key });
    made.set(key, (pair ??= selfSigned(names)));
    return pair;
  }
}
