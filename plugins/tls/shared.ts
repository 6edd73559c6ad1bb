import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MasterPart } from '../../core/index.js';
import type { CertPair } from './certs.js';

/** sharedDir is where a master keeps one generation's self-signed certificates, in its run folder: the same path in its workers. */
export function sharedDir(runDir: string): string {
  return join(runDir, 'tls');
}

/** pairFile is the file of the certificate for one server's names (joined by spaces) in a sharedDir. */
function pairFile(dir: string, names: string): string {
  return join(dir, `${createHash('sha256').update(names).digest('hex').slice(0, 20)}.json`);
}

/**
 * SharedCertificates is the tls plugin's master part: each server's self-signed certificate,
 * made once for all workers (or kept from the generation a reload replaces). Workers have no
 * other way to receive it than a file, so the pairs are written, key and all, to a folder only
 * this user may enter, and removed when the generation ends.
 */
export class SharedCertificates implements MasterPart {
  /** pairs holds the certificates by server names (joined by spaces). */
  constructor(
    readonly pairs: ReadonlyMap<string, CertPair>,
    private readonly dir: string,
  ) {}

  async start(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { mode: 0o700 }); // not recursive: fails if someone made it meanwhile
    for (const [names, pair] of this.pairs) writeFileSync(pairFile(this.dir, names), JSON.stringify(pair), { mode: 0o600, flag: 'wx' });
  }

  async stop(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** readShared reads the certificate the master made for a server's names, or undefined when there is none. */
export function readShared(dir: string, names: string): CertPair | undefined {
  try {
    const { cert, key } = JSON.parse(readFileSync(pairFile(dir, names), 'utf8')) as CertPair;
    return typeof cert === 'string' && typeof key === 'string' ? { cert, key } : undefined;
  } catch {
    return undefined;
  }
}
