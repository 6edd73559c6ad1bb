import assert from 'node:assert/strict';
import { freshFor, newPolicy, policyRequest, revivedPolicy, type Defaults } from './policy.js';

describe('cache: fresh hits without the full policy evaluation', () => {
  const NONE: Defaults = { ttl: new Map(), staleWhileRevalidate: 0, staleIfError: 0 };
  const KEY = 'http://a.test/p';
  /** stored is the revived policy of a fresh response to a GET with `reqHeaders`. */
  const stored = (resHeaders: Record<string, string>, reqHeaders: Record<string, string> = {}) =>
    revivedPolicy(newPolicy(policyRequest(KEY, 'GET', reqHeaders), 200, { 'cache-control': 'max-age=60', ...resHeaders }, NONE).toObject());

  it('answers a varying response to a request with the same fields, as the policy would', () => {
    const r = stored({ vary: 'Accept-Encoding, Accept-Language' }, { 'accept-encoding': 'gzip', 'accept-language': 'fr' });
    const same = { 'accept-encoding': 'gzip', 'accept-language': 'fr', 'user-agent': 'x' };
    const other = { 'accept-encoding': 'br', 'accept-language': 'fr' };
    assert.equal(freshFor(r, 'GET', KEY, same), true);
    assert.equal(freshFor(r, 'HEAD', KEY, same), true);
    assert.equal(freshFor(r, 'GET', KEY, other), false);
    assert.equal(freshFor(r, 'GET', KEY, { 'accept-encoding': 'gzip' }), false, 'a field the stored request had, missing');
    for (const h of [same, other]) assert.equal(r.policy.evaluateRequest(policyRequest(KEY, 'GET', h)).revalidation === undefined, freshFor(r, 'GET', KEY, h));
  });

  it('leaves must-revalidate and Vary on a field the cache rewrites to the policy', () => {
    assert.equal(freshFor(stored({ 'cache-control': 'max-age=60, must-revalidate' }), 'GET', KEY, {}), false);
    assert.equal(freshFor(stored({ vary: 'Host' }), 'GET', KEY, {}), false);
    assert.equal(freshFor(stored({}), 'GET', KEY, {}), true);
    assert.equal(freshFor(stored({}), 'GET', 'http://a.test/other', {}), false);
  });
});
