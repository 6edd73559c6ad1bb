// Answering from a stored entry: the head the origin sent with a current Age, and the body,
// whole or a range of it, unless the client's own validators make it a 304.

import { pipeline } from 'node:stream/promises';
import fresh from 'fresh';
import parseRange from 'range-parser';
import type CachePolicy from 'http-cache-semantics';
import { checkedFields, DONE, writeCheckedHead, type CheckedFields, type Ctx, type ResponseHead } from '../../core/index.js';
import { ageOf, type Revived } from './policy.js';
import type { ByteRange, EntryMeta, StoredEntry } from './store.js';

/** NOT_MODIFIED_FIELDS are the stored fields a 304 repeats (RFC 9110 15.4.5). */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified', 'age', 'x-cache'];

/**
 * storedHead sets a stored response's head on a response: its fields, Content-Length, and a
 * current Age. The fields named in `local` were set before the cache ran (the kernel's HSTS,
 * a middleware's): they stay, as Nginx's add_header applies to hits; every other is dropped.
 */
export function storedHead(head: ResponseHead, meta: EntryMeta, policy: CachePolicy, local: readonly string[]): void {
  for (const name of head.getHeaderNames()) if (!local.includes(name)) head.removeHeader(name);
  head.statusCode = meta.status;
  for (const [k, v] of Object.entries(meta.headers)) head.setHeader(k, v);
  head.setHeader('content-length', meta.size);
  head.setHeader('age', Math.max(0, Math.floor(policy.age())));
}

/** HitHead is the head a hit of an entry sends, for one Age and X-Cache; a new one is made when either changes (the Age once a second). */
interface HitHead {
  readonly age: number;
  readonly xCache: string | undefined;
  readonly fields: CheckedFields;
}

/** hitHeads are the last hit head of each stored head this process holds. */
const hitHeads = new WeakMap<EntryMeta, HitHead>();

/**
 * hitHead is a stored head's fields, Content-Length, (for a 200) Accept-Ranges, Age and
 * X-Cache, in storedHead's order, checked once for all the hits that send the same: Node
 * checking each field of each hit cost more than the rest of the hit.
 */
function hitHead(meta: EntryMeta, age: number, xCache: string | undefined): CheckedFields {
  const last = hitHeads.get(meta);
  if (last && last.age === age && last.xCache === xCache) return last.fields;
  const ranges = meta.status === 200;
  const raw: [string, string | readonly string[]][] = [];
  for (const [k, v] of Object.entries(meta.headers)) raw.push([k, ranges && k === 'accept-ranges' ? 'bytes' : v]);
  raw.push(['content-length', String(meta.size)]);
  if (ranges && meta.headers['accept-ranges'] === undefined) raw.push(['accept-ranges', 'bytes']);
  raw.push(['age', String(age)]);
  if (xCache) raw.push(['x-cache', xCache]);
  const fields = checkedFields(raw);
  hitHeads.set(meta, { age, xCache, fields });
  return fields;
}

/** LATIN1_MAX is the largest body a hit sends as a string with its head, below Node's stack buffer for a string write (16 KiB). */
const LATIN1_MAX = 16 * 1024 - 1024;

/** latin1Bodies are the small stored bodies as latin1 strings (one char per byte), made once per body this process holds. */
const latin1Bodies = new WeakMap<Buffer, string>();

/**
 * latin1Body is a small body as a latin1 string: Node joins a string body to the head and
 * writes both in one go, where a Buffer goes out as a second chunk of a writev.
 */
function latin1Body(body: Buffer): string | undefined {
  if (body.length > LATIN1_MAX) return undefined;
  let text = latin1Bodies.get(body);
  if (text === undefined) {
    text = body.toString('latin1');
    latin1Bodies.set(body, text);
  }
  return text;
}

/**
 * answerFromCache sends a stored entry to the client of `ctx`. The common hit (a body held
 * in memory, no range, no validators) is answered at once, DONE, its head written in one
 * writeHead; the others go through answerInFull.
 */
export function answerFromCache(ctx: Ctx, entry: StoredEntry, revived: Revived, xCache?: string): Promise<void> {
  const h = ctx.req.headers;
  if (!entry.body || h.range !== undefined || h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined)
    return answerInFull(ctx, entry, revived.policy, xCache);
  const res = ctx.res;
  const meta = entry.meta;
  // nothing is removed first: what the response holds now was set before the cache ran, and stays (see storedHead)
  writeCheckedHead(res, meta.status, hitHead(meta, ageOf(revived), xCache));
  if (ctx.method === 'HEAD') res.end();
  else {
    const text = latin1Body(entry.body);
    if (text === undefined) res.end(entry.body);
    else res.end(text, 'latin1');
  }
  return DONE;
}

/** answerInFull answers from an entry as the request asks: a 304 for the client's validators, a range, or a body read from the store. */
async function answerInFull(ctx: Ctx, entry: StoredEntry, policy: CachePolicy, xCache?: string): Promise<void> {
  const res = ctx.res;
  const meta = entry.meta;
  const local = res.getHeaderNames();
  storedHead(res, meta, policy, local);
  if (xCache) res.setHeader('x-cache', xCache);
  // the client's Cache-Control is ignored here as in the lookup (fetch sends no-cache with its validators)
  const reqHeaders = { 'if-none-match': ctx.req.headers['if-none-match'], 'if-modified-since': ctx.req.headers['if-modified-since'] };
  if ((reqHeaders['if-none-match'] || reqHeaders['if-modified-since']) && meta.status === 200 && fresh(reqHeaders, meta.headers)) {
    notModified(res, local);
    res.end();
    return;
  }
  if (meta.status === 200) res.setHeader('accept-ranges', 'bytes');
  const range = meta.status === 200 ? wantedRange(ctx, meta) : undefined;
  if (range === 'unsatisfiable') {
    for (const name of res.getHeaderNames()) if (name.startsWith('content-')) res.removeHeader(name);
    res.writeHead(416, { 'content-range': `bytes */${meta.size}`, 'content-length': 0 });
    res.end();
    return;
  }
  if (range) {
    res.statusCode = 206;
    res.setHeader('content-range', `bytes ${range.start}-${range.end}/${meta.size}`);
    res.setHeader('content-length', range.end - range.start + 1);
  }
  if (ctx.method === 'HEAD') {
    res.end();
    return;
  }
  if (entry.body) {
    res.end(range ? entry.body.subarray(range.start, range.end + 1) : entry.body);
    return;
  }
  try {
    await pipeline(entry.stream(range), res);
  } catch (e) {
    if (!res.writableFinished) ctx.log.warn('cache: stored body could not be read', { request_id: ctx.requestId, key: meta.key, error: (e as Error).message });
    res.destroy();
  }
}

/** notModified turns the head into a 304's: the status, and only the fields a 304 repeats, with those set before the cache ran. */
function notModified(head: ResponseHead, local: readonly string[]): void {
  head.statusCode = 304;
  for (const name of head.getHeaderNames()) if (!NOT_MODIFIED_FIELDS.includes(name) && !local.includes(name)) head.removeHeader(name);
}

/**
 * wantedRange reads the client's Range for a GET: one range of the stored body, or
 * 'unsatisfiable'; undefined for the whole body (no Range, several ranges, a stale If-Range,
 * a unit other than bytes).
 */
function wantedRange(ctx: Ctx, meta: EntryMeta): ByteRange | 'unsatisfiable' | undefined {
  const header = ctx.req.headers.range;
  if (!header || ctx.method !== 'GET') return undefined;
  const ifRange = ctx.req.headers['if-range'] as string | undefined;
  if (ifRange && (ifRange.startsWith('W/') || (ifRange !== meta.headers.etag && ifRange !== meta.headers['last-modified']))) return undefined; // a strong match only (RFC 9110 13.1.5)
  const ranges = parseRange(meta.size, header, { combine: true });
  if (ranges === -1) return 'unsatisfiable';
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return undefined;
  return { start: ranges[0].start, end: ranges[0].end };
}
