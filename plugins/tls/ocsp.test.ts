import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestCa, type Issued } from '../../test/helpers/ocsp-responder.js';
import { checkResponse } from './ocsp-response.js';
import { refreshAt } from './ocsp-staple.js';
import { ocspSubject, type OcspSubject } from './ocsp-subject.js';

describe('tls ocsp responses', () => {
  let dir: string;
  let ca: TestCa;
  let leaf: Issued;
  let subject: OcspSubject;
  const URL = 'http://127.0.0.1:9/';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-ocsp-unit-'));
    ca = TestCa.make(dir);
    leaf = ca.issue('a.test', URL);
    subject = ocspSubject(readFileSync(leaf.cert, 'utf8')) as OcspSubject;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the responder and the issuer from the chain, or says why it cannot staple', () => {
    assert.equal(subject.responder, URL);
    assert.equal(subject.issuer.subject, 'CN=gatekit test CA');
    const why = ocspSubject(readFileSync(leaf.leaf, 'utf8'));
    assert.equal(typeof why, 'string');
    assert.match(why as string, /the chain lacks the certificate's issuer/);
    assert.equal(ocspSubject(readFileSync(ca.issue('b.test', undefined).cert, 'utf8')), 'the certificate names no OCSP responder');
  });

  it('accepts a good response signed by the issuer, and refreshes it halfway', () => {
    const s = checkResponse(ca.response(leaf), subject);
    assert.equal(s.status, 'good');
    assert.equal(s.nextUpdate! - s.thisUpdate, 3_600_000);
    assert.equal(refreshAt(s), s.thisUpdate + 1_800_000);
  });

  it('refuses an expired response, one from the future, one about another certificate, and an unknown status', () => {
    const der = ca.response(leaf);
    assert.throws(() => checkResponse(der, subject, Date.now() + 2 * 3_600_000), /the response expired/);
    assert.throws(() => checkResponse(der, subject, Date.now() - 3_600_000), /the response is from the future/);
    const other = ca.issue('c.test', URL);
    assert.throws(() => checkResponse(der, ocspSubject(readFileSync(other.cert, 'utf8')) as OcspSubject), /not about this certificate/);
    const index = readFileSync(join(dir, 'index.txt'), 'utf8');
    const stranger = ca.issue('d.test', URL);
    writeFileSync(join(dir, 'index.txt'), index); // the CA issued it, its index does not know it
    assert.throws(
      () => checkResponse(ca.response(stranger), ocspSubject(readFileSync(stranger.cert, 'utf8')) as OcspSubject),
      /does not know this certificate \(status unknown\)/,
    );
  });

  it('refuses a tampered signature and a responder the issuer did not delegate; accepts a delegated one', () => {
    const der = Buffer.from(ca.response(leaf));
    const serial = der.indexOf(Buffer.from(leaf.serial, 'hex'));
    der[serial + 1] ^= 1; // the serial in the signed data: another certificate's, and a signature that no longer matches
    assert.throws(() => checkResponse(der, subject), /the response signature does not verify/);
    const rogue = TestCa.make(mkdtempSync(join(dir, 'r-'))).issue('rogue', undefined, { ocspSigning: true });
    assert.throws(() => checkResponse(ca.response(leaf, { signer: rogue }), subject), /not issued by the certificate's issuer/);
    const plain = ca.issue('plain', undefined);
    assert.throws(() => checkResponse(ca.response(leaf, { signer: plain }), subject), /not for OCSP signing/);
    assert.equal(checkResponse(ca.response(leaf, { signer: ca.issue('delegate', undefined, { ocspSigning: true }) }), subject).status, 'good');
  });

  it('reads a revoked status with its time and reason', () => {
    const r = ca.issue('r.test', URL);
    ca.revoke(r.serial);
    const s = checkResponse(ca.response(r), ocspSubject(readFileSync(r.cert, 'utf8')) as OcspSubject);
    assert.deepEqual([s.status, s.reason], ['revoked', 'keyCompromise']);
    assert.ok(s.revokedAt! < Date.now());
  });
});
