// What the cache does with the handler's answer as its head goes out: store it, refresh a
// stale entry from a 304, or answer with a stale entry in place of a failure.

import type { BodyFilter, BodyTransform, Ctx, ResponseHead } from '../../core/index.js';
import { storedBody, teeBody } from './capture.js';
import { variantKey, varyNames } from './key.js';
import { newPolicy, revivePolicy, staleIfErrorAllows, worthStoring, type Defaults, type PolicyRequest } from './policy.js';
import { storedHead } from './serve.js';
import { entryMeta, type CacheStore, type EntryMeta, type StoredEntry, type StoredHeaders } from './store.js';

/** CacheStatus is what $cache_status and X-Cache say about a request. */
export type CacheStatus = 'HIT' | 'MISS' | 'EXPIRED' | 'STALE' | 'UPDATING' | 'REVALIDATED' | 'BYPASS';

/** HOP_BY_HOP are fields that belong to one connection, never stored (RFC 9110 7.6.1), with those the cache sets itself. */
const NOT_STORED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'content-length',
  'age',
  'x-cache',
]);

/** FillSpec is one fetch the cache watches: where it stores, what it had, and what it may do. */
export interface FillSpec {
  readonly ctx: Ctx;
  readonly store: CacheStore;
  readonly key: string;
  readonly req: PolicyRequest;
  readonly defaults: Defaults;
  readonly maxSize: number;
  /** stale is the entry this fetch revalidates or may stand in for a failure. */
  readonly stale?: StoredEntry;
  /** store says whether the answer may be stored (no no_store condition, a method that stores). */
  readonly storing: boolean;
  /** status is what the cache says of the request unless the answer changes it (REVALIDATED, STALE). */
  readonly status: CacheStatus;
  /** mark sets $cache_status and X-Cache. */
  readonly mark: (head: ResponseHead, status: CacheStatus) => void;
  /** settled is called once the answer is stored, or known not to be. */
  readonly settled: () => void;
  /** local are the fields the response held when the cache began (HSTS, a middleware's): never stored, since every hit sets its own. */
  readonly local: readonly string[];
}

/** fillFilter is the body filter of a fetch: see the file comment. */
export function fillFilter(f: FillSpec): BodyFilter {
  return (head) => {
    f.mark(head, f.status);
    const t = decide(f, head);
    if (!t) f.settled();
    return t;
  };
}

function decide(f: FillSpec, head: ResponseHead): BodyTransform | undefined {
  const status = head.statusCode;
  if (f.stale && status === 304) return revalidated(f, f.stale, head);
  if (f.stale && status >= 500 && staleIfErrorAllows(revivePolicy(f.stale.meta.policy))) {
    f.ctx.log.warn('cache: answered with a stale entry for a failed response', { request_id: f.ctx.requestId, key: f.key, status });
    storedHead(head, f.stale.meta, revivePolicy(f.stale.meta.policy), f.local);
    f.mark(head, 'STALE');
    return storedBody(f.stale);
  }
  if (!f.storing || status === 204 || status === 304 || status < 200) return undefined;
  const headers = storedHeaders(head, f.local);
  const policy = newPolicy(f.req, status, headers, f.defaults);
  if (!worthStoring(policy, headers)) return undefined;
  const length = Number(head.getHeader('content-length'));
  if (length > f.maxSize) return undefined;
  const names = varyNames(headers.vary);
  let key = f.key;
  if (names.length) {
    // the marker under the primary key says which fields pick the variant
    void f.store.open({ key, status, headers: {}, policy: policy.toObject(), vary: names }).commit();
    key = variantKey(key, names, f.ctx.req.headers);
  }
  const meta: Omit<EntryMeta, 'size'> = { key, status, headers, policy: policy.toObject() };
  return teeBody(() => f.store.open(meta), f.maxSize, f.settled);
}

/** revalidated answers a 304 to a revalidation with the stored entry, its head refreshed (RFC 9111 4.3.4), and stores that head. */
function revalidated(f: FillSpec, stale: StoredEntry, head: ResponseHead): BodyTransform {
  const old = revivePolicy(stale.meta.policy);
  const { policy, modified } = old.revalidatedPolicy(f.req, { status: 304, headers: storedHeaders(head, f.local) });
  const headers: StoredHeaders = { ...stale.meta.headers };
  for (const [k, v] of Object.entries(storedHeaders(head, f.local))) if (k in headers || k === 'cache-control' || k === 'expires') headers[k] = v;
  const meta = entryMeta({ ...stale.meta, headers, policy: policy.toObject() }, stale.meta.size);
  const ready = modified ? Promise.resolve() : f.store.update(meta);
  void ready.finally(f.settled);
  storedHead(head, meta, policy, f.local);
  f.mark(head, 'REVALIDATED');
  return storedBody(stale, ready);
}

/** storedHeaders takes the fields of a head that are stored with it: not the hop-by-hop ones, nor those set before the cache ran. */
function storedHeaders(head: ResponseHead, local: readonly string[]): StoredHeaders {
  const out: StoredHeaders = {};
  for (const name of head.getHeaderNames()) {
    if (NOT_STORED.has(name) || local.includes(name)) continue;
    const v = head.getHeader(name);
    if (v !== undefined) out[name] = typeof v === 'number' ? String(v) : v;
  }
  return out;
}
