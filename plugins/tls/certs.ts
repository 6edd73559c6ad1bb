import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** CertPair is a certificate (chain) and its private key, as PEM text. */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

/** CertProblem is what is wrong with a certificate pair, for a diagnostic. */
export interface CertProblem {
  readonly code: string;
  /** field is the option at fault, where the diagnostic points. */
  readonly field: 'cert' | 'key';
  readonly message: string;
  readonly help?: string;
  readonly warning?: boolean;
}

/** readPair reads a certificate and key file; it throws with the file named when one cannot be read. */
export function readPair(certFile: string, keyFile: string): CertPair {
  return { cert: readText(certFile, 'certificate'), key: readText(keyFile, 'key') };
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new Error(`cannot read ${what} '${file}': ${why}`, { cause: e });
  }
}

/**
 * checkPair reads and checks a certificate and key: both parse, the key is the certificate's,
 * and the certificate is within its validity period (a warning otherwise).
 */
export function checkPair(certFile: string, keyFile: string, now = new Date()): CertProblem[] {
  const certPem = readFor('cert', certFile);
  if (typeof certPem !== 'string') return [certPem];
  const keyPem = readFor('key', keyFile);
  if (typeof keyPem !== 'string') return [keyPem];
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (e) {
    return [{ code: 'GK_TLS_CERT', field: 'cert', message: `'${certFile}' is not a PEM certificate`, help: (e as Error).message }];
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    return [{ code: 'GK_TLS_KEY', field: 'key', message: `'${keyFile}' is not an unencrypted PEM private key`, help: (e as Error).message }];
  }
  if (!cert.checkPrivateKey(key)) {
    return [
      {
        code: 'GK_TLS_MISMATCH',
        field: 'key',
        message: `key '${keyFile}' does not match certificate '${certFile}'`,
        help: 'the key must be the one the certificate was issued for',
      },
    ];
  }
  const out: CertProblem[] = [];
  if (new Date(cert.validTo) < now)
    out.push({
      code: 'GK_TLS_EXPIRED',
      field: 'cert',
      message: `certificate '${certFile}' expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}`,
      warning: true,
    });
  else if (new Date(cert.validFrom) > now)
    out.push({
      code: 'GK_TLS_NOT_YET_VALID',
      field: 'cert',
      message: `certificate '${certFile}' is not valid before ${new Date(cert.validFrom).toISOString().slice(0, 10)}`,
      warning: true,
    });
  return out;
}

/** readFor reads the file of one option of the pair, or says why it cannot be read. */
function readFor(field: 'cert' | 'key', file: string): string | CertProblem {
  try {
    return readText(file, field === 'cert' ? 'certificate' : 'key');
  } catch (e) {
    return { code: 'GK_TLS_FILE', field, message: (e as Error).message };
  }
}
