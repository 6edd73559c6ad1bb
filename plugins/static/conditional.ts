import type { IncomingHttpHeaders } from 'node:http';
import { parseHttpDate } from './http-date.js';

/** Validators are what a response's cache checks compare against: a strong ETag and the modification time. */
export interface Validators {
  /** etag is a strong entity tag, quoted: "5f3a1c-400". */
  readonly etag: string;
  /** mtime is the modification time in whole seconds (HTTP dates have no finer grain). */
  readonly mtime: number;
}

/** Precondition is the outcome of a request's conditional headers: go on, 304 Not Modified, or 412. */
export type Precondition = 200 | 304 | 412;

/**
 * precondition evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since
 * in the order RFC 9110 section 13.2.2 gives, for a GET or HEAD.
 */
export function precondition(h: IncomingHttpHeaders, v: Validators): Precondition {
  const ifMatch = h['if-match'];
  if (ifMatch !== undefined) {
    if (!matches(ifMatch, v.etag, true)) return 412;
  } else {
    const ius = parseHttpDate(h['if-unmodified-since']);
    if (ius !== undefined && v.mtime > ius) return 412;
  }
  const inm = h['if-none-match'];
  if (inm !== undefined) return matches(inm, v.etag, false) ? 304 : 200;
  const ims = parseHttpDate(h['if-modified-since']);
  return ims !== undefined && v.mtime <= ims ? 304 : 200;
}

/**
 * ifRangeHolds tells whether a Range may be honoured under If-Range: an entity tag must match
 * strongly, a date must equal the modification time; with no If-Range it holds.
 */
export function ifRangeHolds(h: IncomingHttpHeaders, v: Validators): boolean {
  const raw = h['if-range'];
  const ir = Array.isArray(raw) ? raw[0] : raw;
  if (ir === undefined) return true;
  const t = ir.trim();
  if (t.startsWith('"') || t.startsWith('W/')) return t === v.etag;
  const d = parseHttpDate(t);
  return d !== undefined && d === v.mtime;
}

/** matches compares an If-Match / If-None-Match list with an ETag ('*' matches any). */
function matches(list: string, etag: string, strong: boolean): boolean {
  if (list.trim() === '*') return true;
  for (const raw of list.split(',')) {
    const tag = raw.trim();
    if (tag === etag) return true;
    if (!strong && tag.startsWith('W/') && tag.slice(2) === etag) return true;
  }
  return false;
}
