import assert from 'node:assert/strict';
import { newPolicy, plainFor, policyRequest, revivedPolicy, type Defaults, type Revived } from './policy.js';

/** freshFor is the fresh-hit test the cache's held hit makes: a plain request for the entry, before its freshUntil. */
function freshFor(r: Revived, method: string, key: string, headers: Record<string, string>): boolean {
  return plainFor(r, method, key, headers) && Date.now() < r.freshUntil;
}

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

  it('lets a stale entry answer while refreshed for as long as stale-while-revalidate says, as the policy would', () => {
    const swr = (cc: string, d: Defaults = NONE) => revivedPolicy(newPolicy(policyRequest(KEY, 'GET', {}), 200, { 'cache-control': cc }, d).toObject());
    const r = swr('max-age=0, stale-while-revalidate=60');
    assert.equal(r.freshUntil, 0);
    assert.ok(r.staleUntil > Date.now() + 59_000 && r.staleUntil <= Date.now() + 60_000);
    assert.equal(r.policy.evaluateRequest(policyRequest(KEY, 'GET', {})).revalidation?.synchronous, false);
    const fromConfig = swr('max-age=5', { ...NONE, staleWhileRevalidate: 10 });
    assert.ok(fromConfig.staleUntil > fromConfig.freshUntil + 9_000);
    assert.equal(swr('max-age=0').staleUntil, 0, 'no stale-while-revalidate');
    assert.equal(swr('max-age=0, stale-while-revalidate=60, must-revalidate').staleUntil, 0, 'must-revalidate: always the policy');
  });
});
