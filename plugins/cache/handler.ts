import { BlockList, isIP } from 'node:net';
import {
  diagnostic,
  spanOf,
  type Ctx,
  type Diagnostic,
  type Logger,
  type Next,
  type ResponseHead,
  type Span,
  type TemplateLike,
  type HandlerUnit,
} from '../../core/index.js';
import { fillFilter, type CacheStatus } from './fill.js';
import { MAX_KEY, variantKey } from './key.js';
import { KeyLocks } from './lock.js';
import { freshHit, plainFor, policyRequest, revivedPolicy, revivePolicy, type Defaults, type PolicyRequest, type Revived } from './policy.js';
import { CONDITIONAL_FIELDS, setRequestField } from './request-fields.js';
import type { CacheConfig } from './schema.js';
import { answerFromCache } from './serve.js';
import { storeConfig } from './stores.js';
import type { CacheStore, StoredEntry } from './store.js';
import type CachePolicy from 'http-cache-semantics';

/** CACHE_STATUS is the request variable the cache sets. */
export const CACHE_STATUS = 'cache_status';
/** SAFE_METHODS do not change what the origin holds; any other, answered without error, drops the stored entries of its URL (RFC 9111 4.4). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PURGE']);
const DEFAULT_KEY = '$scheme://$host$uri';
const DEFAULT_TTL_STATUSES = [200, 301, 302];
/** REFRESH_AGE: a background refresh holds its key this long at most, across processes, before another may start. */
const REFRESH_AGE = 30_000;

/** Found is an entry found for a request, with its policy. */
interface Found {
  readonly entry: StoredEntry;
  readonly policy: CachePolicy;
  readonly revived: Revived;
}

/** foundOf is an entry looked up, with its policy; undefined for none, or for a Vary marker whose variant is not stored. */
function foundOf(entry: StoredEntry | undefined): Found | undefined {
  if (!entry || entry.meta.vary) return undefined;
  const revived = revivedPolicy(entry.meta.policy);
  return { entry, policy: revived.policy, revived };
}

/** StoreFactory makes a cache's store at provision. */
export type StoreFactory = (cfg: CacheConfig, log: Logger) => Promise<CacheStore>;

/**
 * CacheUnit answers from stored responses when RFC 9111 allows, and otherwise lets the
 * handler answer and stores what may be stored: see README "Caching".
 */
export class CacheUnit implements HandlerUnit {
  private store: CacheStore | undefined;
  private readonly defaults: Defaults;
  private readonly methods: ReadonlySet<string>;
  private readonly maxSize: number;
  private readonly lockTimeout: number | undefined;
  private locks = new KeyLocks();
  private readonly purgers: BlockList | undefined;
  private readonly keyTemplate: TemplateLike | undefined;
  private readonly badKeys = new Set<string>();
  /** lastKey is the default key made last and what it was made of (see defaultKey). */
  private lastKey = { scheme: '', host: '', uri: '', key: '' };
  /** refreshes are the background requests that refresh a stale entry (a set, so that a hit makes no state map). */
  private readonly refreshes = new WeakSet<Ctx>();

  constructor(
    private readonly cfg: CacheConfig,
    private readonly at: Span,
    private readonly log: Logger,
    private readonly makeStore: StoreFactory,
  ) {
    this.defaults = defaultsOf(cfg);
    this.methods = new Set(cfg.methods.map((m) => m.toUpperCase()));
    this.maxSize = cfg.max_size;
    this.lockTimeout = cfg.lock;
    this.purgers = cfg.purge_from ? blockList(cfg.purge_from) : undefined;
    this.keyTemplate = cfg.key;
  }

  validate(): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const [i, c] of (this.cfg.purge_from ?? []).entries()) {
      if (!cidr(c))
        out.push(
          diagnostic(
            'GK_CACHE_BAD_ADDRESS',
            `'${c}' is not an IP address or CIDR range`,
            spanOf(this.cfg.purge_from, i) ?? this.at,
            'expected an address like 127.0.0.1, ::1 or 10.0.0.0/8',
          ),
        );
    }
    if (storeConfig(this.cfg).kind === 'disk' && !storeConfig(this.cfg).dir)
      out.push(diagnostic('GK_CACHE_NO_DIR', "'store disk' needs a folder", spanOf(this.cfg, 'store') ?? this.at, 'store disk ./cache { max_size 1GB }'));
    return out;
  }

  async provision(): Promise<void> {
    this.store = await this.makeStore(this.cfg, this.log);
    this.locks = new KeyLocks(this.store.locks);
  }

  handle(ctx: Ctx, next: Next): Promise<void> {
    const method = ctx.method;
    if (ctx.upgrade || !this.store) return next();
    if (method === 'PURGE' && this.purgers) return this.purge(ctx, this.store);
    if (!this.methods.has(method)) {
      if (!SAFE_METHODS.has(method)) this.invalidateAfter(ctx, this.store);
      return next();
    }
    const key = this.keyOf(ctx);
    if (key === undefined) return next();
    if (this.bypassed(ctx)) return this.fetch(ctx, next, key, policyRequest(key, method, ctx.req.headers), 'BYPASS');
    return this.heldHit(ctx, this.store, key) ?? this.answer(ctx, next, this.store, key);
  }

  /**
   * heldHit answers at once from an entry the store holds in memory, with no wait and no policy
   * evaluation: a fresh hit (the common one), or a stale one while this worker refreshes it
   * (each request in a micro-cache's refresh window, once a second); undefined when the
   * request needs the full way (which starts the refresh, or revalidates).
   */
  private heldHit(ctx: Ctx, store: CacheStore, key: string): Promise<void> | undefined {
    if (!store.peek || this.refreshes.has(ctx)) return undefined;
    let entry = store.peek(key);
    if (entry?.meta.vary) entry = store.peek(variantKey(key, entry.meta.vary, ctx.req.headers));
    const found = foundOf(entry);
    if (!found || !plainFor(found.revived, ctx.method, key, ctx.req.headers)) return undefined;
    const now = Date.now();
    if (now < found.revived.freshUntil) return this.hit(ctx, found, 'HIT');
    if (now < found.revived.staleUntil && this.locks.holds(refreshName(key))) return this.hit(ctx, found, 'UPDATING');
    return undefined;
  }

  /** answer looks the key up in the store and answers from what it finds: a hit, a refresh, a revalidation or a miss. */
  private async answer(ctx: Ctx, next: Next, store: CacheStore, key: string): Promise<void> {
    const req = policyRequest(key, ctx.method, ctx.req.headers);
    const found = await this.lookup(store, key, ctx);
    if (this.refreshes.has(ctx)) return this.fetch(ctx, next, key, req, 'EXPIRED', found?.entry);
    if (found) {
      if (freshHit(found.revived, req)) return this.hit(ctx, found, 'HIT');
      const ev = found.policy.evaluateRequest(req);
      if (!ev.revalidation) return this.hit(ctx, found, 'HIT');
      if (!ev.revalidation.synchronous) return this.hit(ctx, found, await this.refresh(ctx, key));
      return this.fetch(ctx, next, key, req, 'EXPIRED', found.entry);
    }
    return this.miss(ctx, next, key, req);
  }

  /**
   * refresh starts the one background request that refreshes a stale entry (RFC 5861 3), a
   * copy of this one with no client; STALE for the request that starts it, UPDATING for
   * those that come while it runs, in this worker or another that shares the store (as
   * Nginx's $upstream_cache_status).
   */
  private async refresh(ctx: Ctx, key: string): Promise<CacheStatus> {
    const headers = { ...ctx.req.headers };
    for (const f of CONDITIONAL_FIELDS) delete headers[f];
    const started = await this.locks.once(refreshName(key), REFRESH_AGE, () => ctx.detach(headers, (sub) => this.refreshes.add(sub)));
    return started ? 'STALE' : 'UPDATING';
  }

  /**
   * miss fetches an entry the store lacks; with `lock`, only one request per key does, in
   * all the processes that share the store, and the others wait for it. The one that gets
   * the lock looks again first: the entry may have landed since its lookup.
   */
  private async miss(ctx: Ctx, next: Next, key: string, req: PolicyRequest): Promise<void> {
    if (this.lockTimeout === undefined) return this.fetch(ctx, next, key, req, 'MISS');
    const release = await this.locks.turn(key, this.lockTimeout);
    const found = await this.lookup(this.store!, key, ctx);
    if (found && (freshHit(found.revived, req) || !found.policy.evaluateRequest(req).revalidation)) {
      release?.();
      return this.hit(ctx, found, 'HIT');
    }
    return this.fetch(ctx, next, key, req, 'MISS', undefined, release);
  }

  private hit(ctx: Ctx, found: Found, status: CacheStatus): Promise<void> {
    ctx.vars.set(CACHE_STATUS, status);
    return answerFromCache(ctx, found.entry, found.revived, this.cfg.header ? status : undefined);
  }

  /**
   * fetch lets the handler answer, and watches the answer go by (fill.ts). A request that may
   * fill the cache asks the handler for the whole current response: its own conditions and
   * range are dropped (the cache answers those from the entry next time), and a stale
   * entry's validators are sent instead, for a 304 to refresh it.
   */
  private async fetch(ctx: Ctx, next: Next, key: string, req: PolicyRequest, status: CacheStatus, stale?: StoredEntry, release?: () => void): Promise<void> {
    const storing = ctx.method === 'GET' && !this.noStore(ctx);
    if (storing) {
      for (const f of CONDITIONAL_FIELDS) setRequestField(ctx.req, f, undefined);
      if (stale)
        for (const [k, v] of Object.entries(revivePolicy(stale.meta.policy).revalidationHeaders(req)))
          if (k.startsWith('if-')) setRequestField(ctx.req, k, String(v));
    }
    ctx.vars.set(CACHE_STATUS, status);
    const local = ctx.res.getHeaderNames();
    let headed = false;
    const settled = once(release);
    ctx.filterBody(
      fillFilter({
        ctx,
        store: this.store!,
        key,
        req,
        defaults: this.defaults,
        maxSize: this.maxSize,
        stale: storing ? stale : undefined,
        storing,
        status,
        mark: (head, s) => {
          headed = true;
          this.mark(ctx, head, s);
        },
        settled,
        local,
      }),
    );
    if (release)
      ctx.onSent(() => {
        if (!headed) settled();
      });
    await next();
  }

  private mark(ctx: Ctx, head: ResponseHead, status: CacheStatus): void {
    ctx.vars.set(CACHE_STATUS, status);
    if (this.cfg.header) head.setHeader('x-cache', status);
  }

  /** lookup finds the entry for a request: the one under its key, or the variant its fields pick when the key's responses vary. */
  private async lookup(store: CacheStore, key: string, ctx: Ctx): Promise<Found | undefined> {
    let entry = await store.get(key);
    if (entry?.meta.vary) entry = await store.get(variantKey(key, entry.meta.vary, ctx.req.headers));
    return foundOf(entry);
  }

  /** keyOf renders the request's key; undefined (not cached, one log line per bad key) when it renders empty or too long. */
  private keyOf(ctx: Ctx): string | undefined {
    const key = this.keyTemplate ? ctx.render(this.keyTemplate) : this.defaultKey(ctx);
    if (key !== '' && key.length <= MAX_KEY) return key;
    const source = this.keyTemplate?.source ?? DEFAULT_KEY;
    if (!this.badKeys.has(source)) {
      this.badKeys.add(source);
      this.log.warn('cache: the key template renders empty or too long; such requests are not cached', { request_id: ctx.requestId, key: source });
    }
    return undefined;
  }

  /**
   * defaultKey is scheme, host and URI, the same string as last time for the same request
   * target: hits repeat a few URLs, a string keeps its hash once computed, and a key made
   * anew per request was joined and hashed again on every lookup.
   */
  private defaultKey(ctx: Ctx): string {
    const scheme = ctx.scheme;
    const host = ctx.host;
    const uri = ctx.uri;
    const last = this.lastKey;
    if (uri === last.uri && host === last.host && scheme === last.scheme) return last.key;
    this.lastKey = { scheme, host, uri, key: `${scheme}://${host}${uri}` };
    return this.lastKey.key;
  }

  private bypassed(ctx: Ctx): boolean {
    return anySet(ctx, this.cfg.bypass);
  }
  private noStore(ctx: Ctx): boolean {
    return anySet(ctx, this.cfg.no_store);
  }

  /** purge answers PURGE: 403 to an address not in purge_from, else 200 with what went, or 404 when nothing did. */
  private async purge(ctx: Ctx, store: CacheStore): Promise<void> {
    const remote = ctx.remote.replace(/^::ffff:(?=\d+\.)/, '');
    if (!this.purgers!.check(remote, isIP(remote) === 6 ? 'ipv6' : 'ipv4')) {
      await ctx.send(403, 'purge not allowed from this address\n');
      return;
    }
    const star = ctx.rawPath.endsWith('*');
    const key = this.keyOf(ctx);
    if (key === undefined) {
      await ctx.send(400, 'no cache key for this request\n');
      return;
    }
    // the key of /prefix* ends in '*' (or '*?query'): everything before the star is the prefix
    const n = star ? await store.purge(key.slice(0, key.lastIndexOf('*')), true) : (await store.purge(key, false)) + (await store.purge(`${key}\n`, true));
    ctx.vars.set(CACHE_STATUS, 'BYPASS');
    this.log.info('cache: purged', { request_id: ctx.requestId, key, entries: n });
    await ctx.send(n ? 200 : 404, `${n} entr${n === 1 ? 'y' : 'ies'} purged\n`, { 'content-type': 'text/plain; charset=utf-8' });
  }

  /** invalidateAfter drops the entries of a URL that an unsafe method changed, once it was answered without error. */
  private invalidateAfter(ctx: Ctx, store: CacheStore): void {
    const key = this.keyOf(ctx);
    if (key === undefined) return;
    ctx.onSent((sent) => {
      if (sent.status < 400) void store.purge(key, false).then(() => store.purge(`${key}\n`, true));
    });
  }

  async close(): Promise<void> {
    this.locks.close();
    await this.store?.close();
    this.store = undefined;
  }
}

/** refreshName is what the background refresh of `key` holds (not the key itself, which a miss's lock holds). */
function refreshName(key: string): string {
  return `refresh\n${key}`;
}

function defaultsOf(cfg: CacheConfig): Defaults {
  const ttl = new Map<number, number>();
  for (const t of cfg.ttl ?? []) for (const s of t.status?.length ? t.status : DEFAULT_TTL_STATUSES) ttl.set(s, Math.floor(t.time / 1000));
  return { ttl, staleWhileRevalidate: Math.floor(cfg.stale_while_revalidate / 1000), staleIfError: Math.floor(cfg.stale_if_error / 1000) };
}

/** anySet tells whether any of the templates renders to something other than '' and '0' (Nginx's proxy_cache_bypass). */
function anySet(ctx: Ctx, lists: readonly (readonly TemplateLike[])[] | undefined): boolean {
  if (!lists) return false;
  for (const list of lists)
    for (const t of list) {
      const v = ctx.render(t);
      if (v !== '' && v !== '0') return true;
    }
  return false;
}

function once(fn: (() => void) | undefined): () => void {
  let called = false;
  return () => {
    if (!called) {
      called = true;
      fn?.();
    }
  };
}

/** cidr parses an address or CIDR range: [address, prefix length, family]. */
function cidr(text: string): [string, number, 'ipv4' | 'ipv6'] | undefined {
  const [addr, bits] = text.split('/');
  const v = isIP(addr);
  if (!v) return undefined;
  const max = v === 4 ? 32 : 128;
  const n = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(n) || n < 0 || n > max || (bits !== undefined && !/^\d+$/.test(bits))) return undefined;
  return [addr, n, v === 4 ? 'ipv4' : 'ipv6'];
}

function blockList(list: readonly string[]): BlockList {
  const b = new BlockList();
  for (const text of list) {
    const c = cidr(text);
    if (c) b.addSubnet(...c);
  }
  return b;
}
