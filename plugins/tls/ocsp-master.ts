import type { Logger, MasterPart } from '../../core/index.js';
import type { StapledCertificate, StapleSource } from './ocsp-stapler.js';

/** StapleSpec is one certificate to keep stapled: where its chain comes from, the folder its staple goes to, the first wait after a failure, and its log. */
export interface StapleSpec {
  readonly source: StapleSource;
  readonly dir: string;
  readonly retry: number;
  readonly log: Logger;
}

/**
 * OcspStapler is the master's part that keeps each certificate's OCSP staple fresh. The OCSP
 * code and its ASN.1 library load when it starts, in the master only: workers and configs
 * with no certificate to staple never pay for them.
 */
export class OcspStapler implements MasterPart {
  private certificates: StapledCertificate[] = [];

  constructor(private readonly specs: readonly StapleSpec[]) {}

  async start(): Promise<void> {
    const { StapledCertificate } = await import('./ocsp-stapler.js');
    this.certificates = this.specs.map((s) => new StapledCertificate(s.source, s.dir, s.retry, s.log));
    for (const c of this.certificates) c.start();
  }

  async stop(): Promise<void> {
    for (const c of this.certificates) c.stop();
  }
}
