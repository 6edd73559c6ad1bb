import { CertID, OCSPRequest, Request, TBSRequest } from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';
import { createHash, type X509Certificate } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { OcspSubject } from './ocsp-subject.js';

/** HASHES maps the hash algorithms a CertID may use (RFC 6960 4.1.1) to node:crypto's names. */
export const HASHES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const SHA1 = '1.3.14.3.2.26';

/** certIdHashes are the issuer name and key hashes of a CertID (RFC 6960 4.1.1), with the hash `hash`. */
export function certIdHashes(issuer: X509Certificate, hash: string): { name: Buffer; key: Buffer } {
  const tbs = AsnConvert.parse(issuer.raw, Certificate).tbsCertificate;
  const digest = (b: ArrayBuffer): Buffer => createHash(hash).update(new Uint8Array(b)).digest();
  return { name: digest(AsnConvert.serialize(tbs.subject)), key: digest(tbs.subjectPublicKeyInfo.subjectPublicKey) };
}

/** serialOf is a certificate's serial number, as the bytes of its DER INTEGER. */
export function serialOf(cert: X509Certificate): Buffer {
  return Buffer.from(AsnConvert.parse(cert.raw, Certificate).tbsCertificate.serialNumber);
}

/** ocspRequest encodes the request for one certificate's status: SHA-1 CertID and no nonce, as RFC 5019 profiles it (responses stay cacheable). */
export function ocspRequest(s: OcspSubject): Buffer {
  const { name, key } = certIdHashes(s.issuer, 'sha1');
  const reqCert = new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: SHA1, parameters: null }),
    issuerNameHash: new OctetString(name),
    issuerKeyHash: new OctetString(key),
    serialNumber: new Uint8Array(serialOf(s.leaf)).buffer,
  });
  return Buffer.from(AsnConvert.serialize(new OCSPRequest({ tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert })] }) })));
}

/** MAX_RESPONSE bounds what a responder may send: a response is a few KB. */
const MAX_RESPONSE = 64 * 1024;

/**
 * fetchOcsp asks a responder: by GET when the encoded request fits in 255 bytes (RFC 5019 5,
 * so caches in front of the responder can answer), else by POST (RFC 6960 A.1). It rejects
 * with a sentence on no answer within `timeout` ms, a status other than 200, or a body too big.
 */
export function fetchOcsp(responder: string, der: Buffer, timeout: number): Promise<Buffer> {
  const b64 = encodeURIComponent(der.toString('base64'));
  const get = b64.length <= 255;
  const url = new URL(get ? `${responder}${responder.endsWith('/') ? '' : '/'}${b64}` : responder);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => reject(new Error(`OCSP responder ${responder}: ${why}`));
    const req = send(
      url,
      {
        method: get ? 'GET' : 'POST',
        timeout,
        headers: get ? {} : { 'content-type': 'application/ocsp-request', 'content-length': der.length },
      },
      (res) => readBody(res, fail, resolve),
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeout} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => fail(e.code && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message));
    req.end(get ? undefined : der);
  });
}

function readBody(res: IncomingMessage, fail: (why: string) => void, done: (body: Buffer) => void): void {
  if (res.statusCode !== 200) {
    res.resume();
    fail(`answered HTTP ${res.statusCode}`);
    return;
  }
  const parts: Buffer[] = [];
  let size = 0;
  res.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_RESPONSE) {
      res.destroy();
      fail(`answered more than ${MAX_RESPONSE} bytes`);
    } else parts.push(c);
  });
  res.on('end', () => done(Buffer.concat(parts)));
  res.on('error', (e) => fail(e.message));
}
