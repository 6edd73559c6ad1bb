import {
  bind,
  inject,
  injectable,
  LOGGER,
  PROCESS_INFO,
  STORE,
  type CertificateReport,
  type Logger,
  type MasterContext,
  type MasterDirective,
  type MasterPart,
  type Plugin,
  type ProcessInfo,
  type SharedStore,
} from '../../core/index.js';
import { AcmeManager, certInfo, type AcmeBlock } from './acme-manager.js';
import { readFileSync } from 'node:fs';
import { acmeSettings, isAcme, localStorage } from './acme-settings.js';
import { AcmeStore } from './acme-store.js';
import type { CertPair } from './certs.js';
import { OcspStapler, type StapleSpec } from './ocsp-master.js';
import { ocspDir } from './ocsp-store.js';
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
 * worker, and the workers after a reload, serve the same one; it also obtains and renews the
 * `tls acme` certificates (AcmeManager), which workers read from the storage folder.
 */
@injectable()
export class TlsPlugin implements Plugin {
  readonly name = 'tls';
  readonly directives = [
    bind(tls, (cfg, at, place) => new TlsUnit(cfg, at, () => this.selfSigned(place.server?.names ?? []), place, this.log.child({ plugin: this.name }))),
  ];

  constructor(
    @inject(LOGGER) private readonly log: Logger,
    @inject(PROCESS_INFO) private readonly proc: ProcessInfo,
    @inject(STORE) private readonly store: SharedStore,
  ) {}

  master(directives: readonly MasterDirective<TlsConfig>[], ctx: MasterContext): MasterPart | undefined {
    const blocks = new Map<MasterDirective<TlsConfig>, AcmeBlock>();
    const acme = this.acme(directives, ctx, blocks);
    const shared = this.proc.role === 'master' ? this.shared(directives, ctx) : undefined; // workers 0: the one process makes its own
    const ocsp = this.ocsp(directives, ctx, acme, blocks);
    return acme || shared || ocsp ? new TlsMasterPart(shared, acme, ocsp) : undefined;
  }

  /**
   * ocsp makes the master part that keeps OCSP staples fresh, once per certificate (file, or
   * ACME-managed, which is renewed at once when revoked); self-signed ones name no responder.
   */
  private ocsp(
    directives: readonly MasterDirective<TlsConfig>[],
    ctx: MasterContext,
    acme: AcmeManager | undefined,
    blocks: ReadonlyMap<MasterDirective<TlsConfig>, AcmeBlock>,
  ): OcspStapler | undefined {
    const certs = new Map<string, StapleSpec>();
    for (const d of directives) {
      const cfg = d.config;
      if (cfg.ocsp_stapling === false || cfg.mode === 'self_signed') continue;
      const names = d.place.server?.names ?? [];
      const log = ctx.log.child({ names: names.join(' ') || '(default)' });
      if (isAcme(cfg)) {
        const s = acmeSettings(cfg, names);
        const store = new AcmeStore(s.storage);
        const block = blocks.get(d);
        const source = {
          chain: () => store.readCert(s.directory, s.names[0])?.cert,
          changes: true,
          ...(acme && block ? { onRevoked: (serial: string) => acme.renewRevoked(block, serial) } : {}),
        };
        certs.set(`acme ${store.certDir(s.directory, s.names[0])}`, { source, dir: ocspDir(s.storage), retry: s.retry, log });
      } else if (cfg.cert !== undefined && !certs.has(`file ${cfg.cert}`)) {
        const file = cfg.cert;
        const source = { chain: () => readFileSync(file, 'utf8'), changes: false };
        certs.set(`file ${file}`, { source, dir: ocspDir(localStorage(cfg)), retry: cfg.retry ?? 60_000, log });
      }
    }
    return certs.size ? new OcspStapler([...certs.values()]) : undefined;
  }

  /** shared makes the self-signed certificates workers share: for `tls self_signed`, and meanwhile for `tls acme` with none in storage. */
  private shared(directives: readonly MasterDirective<TlsConfig>[], ctx: MasterContext): SharedCertificates | undefined {
    const before = ctx.previous instanceof TlsMasterPart ? ctx.previous.shared?.pairs : undefined;
    const pairs = new Map<string, CertPair>();
    for (const d of directives) {
      const cfg = d.config;
      const names = d.place.server?.names ?? [];
      if (cfg.mode !== 'self_signed' && !(isAcme(cfg) && !hasStored(cfg, names))) continue;
      const key = names.join(' ');
      if (!pairs.has(key)) pairs.set(key, before?.get(key) ?? selfSigned(names));
    }
    return pairs.size ? new SharedCertificates(pairs, sharedDir(ctx.runDir)) : undefined;
  }

  /** acme makes the master part that obtains and renews each `tls acme` certificate. */
  private acme(
    directives: readonly MasterDirective<TlsConfig>[],
    ctx: MasterContext,
    blocks: Map<MasterDirective<TlsConfig>, AcmeBlock>,
  ): AcmeManager | undefined {
    for (const d of directives)
      if (isAcme(d.config)) blocks.set(d, { settings: acmeSettings(d.config, d.place.server?.names ?? []), listens: d.place.listens ?? [] });
    return blocks.size ? new AcmeManager([...blocks.values()], this.store, ctx.log) : undefined;
  }

  /** certificates reports each `tls acme` certificate from its storage folder, for `gatekit certs`. */
  certificates(directives: readonly MasterDirective<TlsConfig>[]): CertificateReport[] {
    return directives
      .filter((d) => isAcme(d.config))
      .map((d) => {
        const s = acmeSettings(d.config, d.place.server?.names ?? []);
        const store = new AcmeStore(s.storage);
        const info = certInfo(store.readCert(s.directory, s.names[0]), s.renewBefore);
        const status = store.readStatus(s.directory, s.names[0]);
        const next = status?.lastError !== undefined ? status.nextAttempt : info?.renewAt;
        return {
          names: s.names,
          where: `${s.shared ? 'the global store, copied to ' : ''}${store.certDir(s.directory, s.names[0])} (CA ${s.directory})`,
          ...(info ? { issuer: info.issuer, expires: info.notAfter } : {}),
          ...(next !== undefined ? { nextRenewal: next } : {}),
          ...(status?.lastError !== undefined ? { lastError: status.lastError } : {}),
        };
      });
  }

  /** selfSigned gives (once) the certificate for the host names of the server a `tls` sits in: the master's, in a worker. */
  private selfSigned(names: readonly string[]): CertPair {
    const key = names.join(' ');
    let pair = made.get(key);
    if (pair) return pair;
    pair = this.proc.role === 'worker' ? readShared(sharedDir(this.proc.runDir), key) : undefined;
    if (!pair && this.proc.role === 'worker')
      this.log.warn('no self-signed certificate from the master; this worker makes its own', { plugin: this.name, names: key });
    made.set(key, (pair ??= selfSigned(names)));
    return pair;
  }
}

/** hasStored tells whether a `tls acme` block has a certificate in storage already. */
function hasStored(cfg: TlsConfig, names: readonly string[]): boolean {
  const s = acmeSettings(cfg, names);
  try {
    return new AcmeStore(s.storage).readCert(s.directory, names[0] ?? '') !== undefined;
  } catch {
    return false;
  }
}

/** TlsMasterPart is the tls plugin's work in the master: shared self-signed certificates, ACME, and OCSP staples. */
class TlsMasterPart implements MasterPart {
  constructor(
    readonly shared: SharedCertificates | undefined,
    readonly acme: AcmeManager | undefined,
    readonly ocsp: OcspStapler | undefined,
  ) {}

  async start(): Promise<void> {
    await this.shared?.start();
    await this.acme?.start();
    await this.ocsp?.start();
  }

  async stop(): Promise<void> {
    await this.ocsp?.stop();
    await this.acme?.stop();
    await this.shared?.stop();
  }
}
