import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivate } from './acme-store.js';
import type { Staple } from './ocsp-staple.js';

/** ocspDir is where staples live: the `ocsp` folder of a storage folder, shared by the master that fetches and the workers that staple. */
export function ocspDir(storage: string): string {
  return join(storage, 'ocsp');
}

/** stapleFile is the file of the staple of the certificate with this SHA-256 fingerprint. */
function stapleFile(dir: string, fingerprint: string): string {
  return join(dir, `${fingerprint}.json`);
}

/** writeStaple stores a checked staple, whole (renamed into place), for the workers and for the next start. */
export function writeStaple(dir: string, fingerprint: string, s: Staple): void {
  writePrivate(stapleFile(dir, fingerprint), JSON.stringify({ ...s, der: s.der.toString('base64') }));
}

/** readStaple reads a stored staple as it was checked when fetched, or undefined when there is none or it does not parse. */
export function readStaple(dir: string, fingerprint: string): Staple | undefined {
  try {
    const j = JSON.parse(readFileSync(stapleFile(dir, fingerprint), 'utf8')) as Omit<Staple, 'der'> & { der: string };
    if (typeof j.der !== 'string' || typeof j.thisUpdate !== 'number') return undefined;
    return { ...j, der: Buffer.from(j.der, 'base64') };
  } catch {
    return undefined;
  }
}
