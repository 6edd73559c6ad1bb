import { createHash, X509Certificate } from 'node:crypto';

// What a worker needs to know of a certificate to staple it, with node:crypto only: the ASN.1
// library the requests and responses need (ocsp-request.ts, ocsp-response.ts) loads only in
// the master, and only once it has a certificate to staple.

/** OcspSubject is a certificate to staple: the leaf, its issuer, and the responder its Authority Information Access names. */
export interface OcspSubject {
  readonly leaf: X509Certificate;
  readonly issuer: X509Certificate;
  readonly responder: string;
  /** fingerprint is the leaf's SHA-256 (hex, no colons): the staple's name on disk, and how a handshake finds it. */
  readonly fingerprint: string;
}

/**
 * ocspSubject reads what stapling a certificate chain needs: its leaf, the leaf's issuer (from
 * the chain, which a file or an ACME CA gives after the leaf) and its OCSP responder; or a
 * sentence saying why it cannot be stapled (no responder named, no issuer in the chain).
 */
export function ocspSubject(chainPem: string): OcspSubject | string {
  const [first, ...rest] = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!first) return 'no certificate in the chain';
  const leaf = new X509Certificate(first);
  const responder = /^OCSP - URI:(https?:\/\/\S+)$/m.exec(leaf.infoAccess ?? '')?.[1];
  if (!responder) return 'the certificate names no OCSP responder';
  const issuer = rest.map((p) => new X509Certificate(p)).find((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey));
  if (!issuer) return "the chain lacks the certificate's issuer (put the intermediate after the leaf in the cert file)";
  return { leaf, issuer, responder, fingerprint: fingerprintOf(leaf.raw) };
}

/** fingerprintOf is a DER certificate's SHA-256, in hex. */
export function fingerprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}
