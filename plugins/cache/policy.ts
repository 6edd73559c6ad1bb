// RFC 9111 semantics come from http-cache-semantics; this file only says how gatekit uses it:
// a shared cache, no heuristic freshness, `ttl` and the stale_* defaults for responses that are
// silent about them, and the request as the stored key sees it.

import CachePolicy from 'http-cache-semantics';
import type { StoredHeaders } from './store.js';

/** Defaults are what the config says for responses that do not: seconds, by status for the ttl. */
export interface Defaults {
  readonly ttl: ReadonlyMap<number, number>;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
}

/** PolicyRequest is a request as a policy reads it. */
export type PolicyRequest = CachePolicy.HttpRequest;

const OPTIONS: CachePolicy.Options = { shared: true, cacheHeuristic: 0 };

/**
 * policyRequest is a request as the cache evaluates it: under its key (so a key without the
 * host shares entries across hosts), a HEAD as the GET it is answered from, and without the
 * client's Cache-Control and Pragma, which a shared cache in front of an origin ignores, as
 * Nginx and Varnish do (a client could otherwise empty the cache at will).
 */
export function policyRequest(key: string, method: string, headers: Record<string, string | string[] | undefined>): PolicyRequest {
  const h = fieldsCopy(headers);
  h.host = '';
  delete h['cache-control'];
  delete h.pragma;
  return { url: key, method: method === 'HEAD' ? 'GET' : method, headers: h };
}

/**
 * fieldsCopy copies header fields one by one: objects with the same names in the same order
 * then share a hidden class. A spread copy gets a new one each time once V8's clone cache
 * gives up, and the policy keeps its copies: with an entry made every second (a micro-cache),
 * every new class deoptimised the code that reads them.
 */
function fieldsCopy(headers: Readonly<Record<string, string | string[] | undefined>>): CachePolicy.Headers {
  const out: CachePolicy.Headers = {};
  for (const k of Object.keys(headers)) out[k] = headers[k];
  return out;
}

/** explicitFreshness tells whether a response says how long it stays fresh, or that it must not be reused as it is. */
function explicitFreshness(headers: StoredHeaders): boolean {
  const cc = String(headers['cache-control'] ?? '');
  return headers.expires !== undefined || /(^|[\s,])(s-maxage|max-age|no-cache|no-store|private)\b/i.test(cc);
}

/** withDefaults is the Cache-Control the policy reads: the response's own, completed from the config's defaults. */
function withDefaults(status: number, headers: StoredHeaders, d: Defaults): string | undefined {
  const own = headers['cache-control'] === undefined ? undefined : String(headers['cache-control']);
  const added: string[] = [];
  const ttl = d.ttl.get(status);
  if (ttl !== undefined && !explicitFreshness(headers)) added.push(`s-maxage=${ttl}`);
  if (d.staleWhileRevalidate && !/stale-while-revalidate/i.test(own ?? '')) added.push(`stale-while-revalidate=${d.staleWhileRevalidate}`);
  if (d.staleIfError && !/stale-if-error/i.test(own ?? '')) added.push(`stale-if-error=${d.staleIfError}`);
  if (!added.length) return own;
  return own ? `${own}, ${added.join(', ')}` : added.join(', ');
}

/** newPolicy makes the policy of a response about to be stored. */
export function newPolicy(req: PolicyRequest, status: number, headers: StoredHeaders, d: Defaults): CachePolicy {
  const cc = withDefaults(status, headers, d);
  const seen = fieldsCopy(headers);
  if (cc !== undefined) seen['cache-control'] = cc;
  return new CachePolicy(req, { status, headers: seen }, OPTIONS);
}

/**
 * worthStoring tells whether a response may be stored and will serve: storable for a shared
 * cache (RFC 9111 3: no no-store, no private, Authorization only when allowed), with a
 * freshness lifetime, or one that says it is stale at once (max-age=0, no-cache) and a
 * validator to revalidate it with. A response that sets a
 * cookie is never stored, as Nginx and Varnish do: its cookie is one client's.
 */
export function worthStoring(policy: CachePolicy, headers: StoredHeaders): boolean {
  if (headers['set-cookie'] !== undefined || headers.vary === '*' || !policy.storable()) return false;
  if (policy.timeToLive() > 0) return true;
  const validated = headers.etag !== undefined || headers['last-modified'] !== undefined;
  return validated && explicitFreshness(headers);
}

/** Revived is a stored entry's policy, and until when (epoch ms) a plain GET of its key may be answered from it as it is. */
export interface Revived {
  readonly policy: CachePolicy;
  readonly url: string;
  /** freshUntil is 0 when every request must go through the policy's full evaluation (must-revalidate, stale already). */
  readonly freshUntil: number;
  /**
   * staleUntil is when (epoch ms) stale-while-revalidate stops allowing the entry to answer while
   * it is refreshed (RFC 5861 3), as the policy's evaluation says; 0 when it never may, or when
   * every request must go through that evaluation.
   */
  readonly staleUntil: number;
  /** ageFrom is when (epoch ms) the response's age was 0: its arrival less the Age it came with. */
  readonly ageFrom: number;
  /** vary are the request fields the response varies on, with the values of the request it answered; undefined when it does not vary. */
  readonly vary: readonly (readonly [string, string | string[] | undefined])[] | undefined;
}

/** POLICY_FIELDS are the request fields policyRequest rewrites: a response that varies on one is left to the policy. */
const POLICY_FIELDS = new Set(['host', 'cache-control', 'pragma']);

const revived = new WeakMap<CachePolicy.CachePolicyObject, Revived>();

/**
 * varyOf reads a stored response's Vary as the policy does (its exact request values must
 * match); null when the fast path cannot judge it (Vary: *, a field policyRequest rewrites).
 */
function varyOf(obj: CachePolicy.CachePolicyObject): Revived['vary'] | null {
  const vary: unknown = obj.resh.vary;
  if (vary === undefined) return undefined;
  if (typeof vary !== 'string' || !obj.reqh) return null;
  const names = vary
    .trim()
    .toLowerCase()
    .split(/\s*,\s*/);
  if (names.some((n) => n === '*' || POLICY_FIELDS.has(n))) return null;
  return names.map((n) => [n, obj.reqh![n]] as const);
}

/**
 * revivedPolicy rebuilds a stored policy once per stored object this process holds (hits ask
 * for the same few entries again and again, and parsing the policy and computing its headers
 * was the largest cost of a hit), with the moment its freshness runs out.
 */
export function revivedPolicy(obj: CachePolicy.CachePolicyObject): Revived {
  let r = revived.get(obj);
  if (r) return r;
  const policy = CachePolicy.fromObject(obj);
  // what RFC 9111 4 asks beyond freshness, for a GET of the same URL when the request's
  // Cache-Control is dropped: its Vary fields as the stored request's (checked per request);
  // http-cache-semantics revalidates must-revalidate responses always, so those are left to it
  const vary = varyOf(obj);
  const plain = obj.m === 'GET' && obj.u !== undefined && vary !== null && !obj.rescc['must-revalidate'];
  const left = policy.maxAge() - policy.age();
  const swr = Number(obj.rescc['stale-while-revalidate']);
  const staleLeft = Number.isFinite(swr) && swr > 0 ? left + swr : 0;
  const ageValue = parseInt(String(obj.resh.age), 10);
  r = {
    policy,
    url: obj.u ?? '',
    freshUntil: plain && left > 0 ? Date.now() + left * 1000 : 0,
    staleUntil: plain && staleLeft > 0 ? Date.now() + staleLeft * 1000 : 0,
    ageFrom: obj.t - (Number.isFinite(ageValue) ? ageValue : 0) * 1000,
    vary: vary ?? undefined,
  };
  revived.set(obj, r);
  return r;
}

/** freshHit tells, without the policy's full evaluation, that `req` (a GET, or a HEAD as its GET) may be answered from the entry now. */
export function freshHit(r: Revived, req: PolicyRequest): boolean {
  return req.method === 'GET' && req.url === r.url && Date.now() < r.freshUntil && (!r.vary || varyMatches(r.vary, req.headers));
}

/**
 * plainFor tells whether a request's method (GET or HEAD), key and fields are those a plain
 * entry (one with freshUntil or staleUntil set) answers without the policy's evaluation;
 * its clock (freshUntil, staleUntil) then says how, before a policy request is made.
 */
export function plainFor(r: Revived, method: string, key: string, headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  return (method === 'GET' || method === 'HEAD') && key === r.url && (!r.vary || varyMatches(r.vary, headers));
}

/** varyMatches tells whether a request's fields are those of the request a varying response answered, as the policy compares them. */
function varyMatches(vary: NonNullable<Revived['vary']>, headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  for (const [name, value] of vary) if (headers[name] !== value) return false;
  return true;
}

/** ageOf is an entry's Age now in whole seconds, as its policy's age() would say it (RFC 9111 4.2.3). */
export function ageOf(r: Revived): number {
  return Math.max(0, Math.floor((Date.now() - r.ageFrom) / 1000));
}

/** revivePolicy rebuilds a stored policy. */
export function revivePolicy(obj: CachePolicy.CachePolicyObject): CachePolicy {
  return CachePolicy.fromObject(obj);
}

/** staleIfErrorAllows tells whether a stale response may stand in for a failed answer (RFC 5861 4). */
export function staleIfErrorAllows(policy: CachePolicy): boolean {
  const cc = policy.toObject().rescc;
  if (cc['must-revalidate'] || cc['proxy-revalidate'] || cc['no-cache']) return false; // RFC 9111 5.2.2.2: never stale
  const sie = Number(cc['stale-if-error']);
  return policy.maxAge() + (Number.isFinite(sie) ? sie : 0) > policy.age();
}
