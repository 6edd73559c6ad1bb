import {
  BasicOCSPResponse,
  id_kp_OCSPSigning,
  id_pkix_ocsp_basic,
  OCSPResponse,
  OCSPResponseStatus,
  type ResponderID,
  type SingleResponse,
} from '@peculiar/asn1-ocsp';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CRLReasons } from '@peculiar/asn1-x509';
import { createHash, verify, X509Certificate } from 'node:crypto';
import { certIdHashes, HASHES, serialOf } from './ocsp-request.js';
import type { Staple } from './ocsp-staple.js';
import type { OcspSubject } from './ocsp-subject.js';

/** SIGNATURES maps the signature algorithms of OCSP responders to the hash node:crypto verifies with (null: the algorithm names none, as Ed25519). */
const SIGNATURES: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
  '1.3.101.113': null,
};

/** SKEW is how far ahead of our clock a responder's thisUpdate may be. */
const SKEW = 5 * 60_000;

/**
 * checkResponse verifies an OCSP response for `s` (RFC 6960 3.2): a successful basic
 * response, signed by the issuer or by a responder the issuer delegated (id-kp-OCSPSigning),
 * about this certificate's serial, current (thisUpdate not ahead, nextUpdate not past), and
 * good or revoked. Anything else throws a sentence saying what is wrong: never staple it.
 */
export function checkResponse(der: Buffer, s: OcspSubject, now = Date.now()): Staple {
  const outer = AsnConvert.parse(der, OCSPResponse);
  if (outer.responseStatus !== OCSPResponseStatus.successful)
    throw new Error(`the responder refused: ${OCSPResponseStatus[outer.responseStatus] ?? outer.responseStatus}`);
  if (outer.responseBytes?.responseType !== id_pkix_ocsp_basic) throw new Error('the response is not a basic OCSP response');
  const basic = AsnConvert.parse(outer.responseBytes.response, BasicOCSPResponse);
  checkSignature(basic, s, now);
  const single = basic.tbsResponseData.responses.find((r) => isFor(r, s));
  if (!single) throw new Error(`the response is not about this certificate (serial ${s.leaf.serialNumber})`);
  const thisUpdate = single.thisUpdate.getTime();
  const nextUpdate = single.nextUpdate?.getTime();
  if (thisUpdate > now + SKEW) throw new Error(`the response is from the future (thisUpdate ${single.thisUpdate.toISOString()})`);
  if (nextUpdate !== undefined && nextUpdate <= now) throw new Error(`the response expired (nextUpdate ${single.nextUpdate!.toISOString()})`);
  const times = { der, thisUpdate, ...(nextUpdate !== undefined ? { nextUpdate } : {}) };
  const st = single.certStatus;
  if (st.good !== undefined) return { ...times, status: 'good' };
  if (st.revoked) {
    const reason = st.revoked.revocationReason;
    return {
      ...times,
      status: 'revoked',
      revokedAt: st.revoked.revocationTime.getTime(),
      ...(reason !== undefined ? { reason: CRLReasons[reason.reason] ?? String(reason.reason) } : {}),
    };
  }
  throw new Error('the responder does not know this certificate (status unknown)');
}

/** isFor tells whether a SingleResponse is about `s`: its serial, and its issuer's name and key, hashed as the response hashed them. */
function isFor(r: SingleResponse, s: OcspSubject): boolean {
  const hash = HASHES[r.certID.hashAlgorithm.algorithm];
  if (!hash || !serialOf(s.leaf).equals(Buffer.from(r.certID.serialNumber))) return false;
  const { name, key } = certIdHashes(s.issuer, hash);
  return name.equals(Buffer.from(r.certID.issuerNameHash.buffer)) && key.equals(Buffer.from(r.certID.issuerKeyHash.buffer));
}

/** checkSignature verifies the response's signature with its signer's key, and that the signer may speak for the issuer. */
function checkSignature(basic: BasicOCSPResponse, s: OcspSubject, now: number): void {
  const signer = signerOf(basic.tbsResponseData.responderID, basic.certs ?? [], s.issuer, now);
  const oid = basic.signatureAlgorithm.algorithm;
  if (!(oid in SIGNATURES)) throw new Error(`the response is signed with an algorithm gatekit does not check (${oid})`);
  const data = basic.tbsResponseDataRaw ? Buffer.from(basic.tbsResponseDataRaw) : Buffer.from(AsnConvert.serialize(basic.tbsResponseData));
  if (!verify(SIGNATURES[oid], data, signer.publicKey, Buffer.from(basic.signature))) throw new Error('the response signature does not verify');
}

/**
 * signerOf finds who signed a response (RFC 6960 4.2.2.2): the issuer itself, or a certificate
 * the response carries that the issuer issued for OCSP signing and that is valid now.
 */
function signerOf(id: ResponderID, certs: readonly Certificate[], issuer: X509Certificate, now: number): X509Certificate {
  if (names(id, issuer)) return issuer;
  const delegate = certs.map((c) => new X509Certificate(Buffer.from(AsnConvert.serialize(c)))).find((c) => names(id, c));
  if (!delegate) throw new Error('the response is signed by neither the issuer nor a certificate it carries');
  if (!delegate.checkIssued(issuer) || !delegate.verify(issuer.publicKey))
    throw new Error(`the responder ${delegate.subject.replace(/\n/g, ', ')} was not issued by the certificate's issuer`);
  if (!(delegate.keyUsage ?? []).includes(id_kp_OCSPSigning)) throw new Error('the responder certificate is not for OCSP signing (no id-kp-OCSPSigning)');
  if (Date.parse(delegate.validTo) <= now || Date.parse(delegate.validFrom) > now) throw new Error('the responder certificate is outside its validity period');
  return delegate;
}

/** names tells whether a ResponderID designates a certificate: by the SHA-1 of its public key, or by its subject. */
function names(id: ResponderID, cert: X509Certificate): boolean {
  const tbs = AsnConvert.parse(cert.raw, Certificate).tbsCertificate;
  if (id.byKey) return createHash('sha1').update(new Uint8Array(tbs.subjectPublicKeyInfo.subjectPublicKey)).digest().equals(Buffer.from(id.byKey.buffer));
  return id.byName !== undefined && Buffer.from(AsnConvert.serialize(id.byName)).equals(Buffer.from(AsnConvert.serialize(tbs.subject)));
}
