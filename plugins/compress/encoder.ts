import {
  brotliCompressSync,
  constants,
  createBrotliCompress,
  createDeflate,
  createGzip,
  deflateSync,
  gzipSync,
  type BrotliCompress,
  type Deflate,
  type Gzip,
} from 'node:zlib';
import type { BodyFilter, BodyTransform, ResponseHead } from '../../core/index.js';
import type { Encoding } from './negotiate.js';

type Zip = Gzip | Deflate | BrotliCompress;

/** EncodePolicy is what decides, per response, whether and how to compress. */
export interface EncodePolicy {
  readonly minSize: number;
  readonly gzipLevel: number;
  readonly brQuality: number;
  isType(contentType: string): boolean;
}

const NO_BODY = (status: number): boolean => status < 200 || status === 204 || status === 304;

/**
 * eligible tells whether a response may be compressed at all (whatever the client accepts):
 * not already encoded, not a range or bodiless answer, of a listed type, not marked
 * no-transform, and not known to be smaller than min_size.
 */
function eligible(res: ResponseHead, p: EncodePolicy): boolean {
  const status = res.statusCode;
  if (NO_BODY(status) || status === 206 || res.hasHeader('content-range')) return false;
  const ce = res.getHeader('content-encoding');
  if (ce !== undefined && String(ce).trim().toLowerCase() !== 'identity') return false;
  const type = res.getHeader('content-type');
  if (type === undefined || !p.isType(String(type))) return false;
  if (/(^|,)\s*no-transform\s*(,|$)/i.test(String(res.getHeader('cache-control') ?? ''))) return false;
  const len = res.getHeader('content-length');
  return len === undefined || Number(len) >= p.minSize;
}

function addVary(res: ResponseHead): void {
  const vary = res.getHeader('vary');
  const text = Array.isArray(vary) ? vary.join(', ') : vary === undefined ? '' : String(vary);
  if (text.trim() === '*' || /(^|,)\s*accept-encoding\s*(,|$)/i.test(text)) return;
  res.setHeader('vary', text ? `${text}, Accept-Encoding` : 'Accept-Encoding');
}

function encoder(enc: Encoding, p: EncodePolicy, length: number | undefined): Zip {
  if (enc === 'br') {
    const params: Record<number, number> = { [constants.BROTLI_PARAM_QUALITY]: p.brQuality };
    if (length !== undefined) params[constants.BROTLI_PARAM_SIZE_HINT] = length;
    return createBrotliCompress({ params });
  }
  return enc === 'gzip' ? createGzip({ level: p.gzipLevel }) : createDeflate({ level: p.gzipLevel });
}

/**
 * ONE_SHOT_MAX is the largest whole body (given to end() at once, as cached files are) that is
 * compressed in one synchronous call instead of through a stream: no thread-pool round
 * trips and no stream state, at the cost of at most a few milliseconds of this worker's time.
 */
const ONE_SHOT_MAX = 1024 * 1024;

function oneShot(enc: Encoding, p: EncodePolicy, body: Buffer): Buffer {
  if (enc === 'br')
    return brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: p.brQuality, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } });
  return enc === 'gzip' ? gzipSync(body, { level: p.gzipLevel }) : deflateSync(body, { level: p.gzipLevel });
}

/** start switches the head to the encoded representation and returns the coding to use, or undefined to send as is. */
function start(res: ResponseHead, enc: Encoding | undefined, p: EncodePolicy): { enc: Encoding; length?: number } | undefined {
  if (!eligible(res, p)) return undefined;
  addVary(res);
  if (!enc) return undefined;
  const len = res.getHeader('content-length');
  res.setHeader('content-encoding', enc);
  res.removeHeader('content-length');
  res.removeHeader('accept-ranges');
  const etag = res.getHeader('etag');
  if (typeof etag === 'string' && etag.startsWith('"')) res.setHeader('etag', `W/${etag}`);
  return len === undefined ? { enc } : { enc, length: Number(len) };
}

/**
 * encodeBody is the body filter that compresses a response with `enc` when its head says it
 * may (see eligible), and otherwise leaves it alone. It sets the head of the encoded
 * representation (Content-Encoding, Vary, a weak ETag, no length); for a HEAD the kernel
 * runs it for that head only, so a HEAD gets the head its GET would (RFC 9110 9.3.2). A body
 * given whole up to ONE_SHOT_MAX is compressed in one call; a streamed one goes through a
 * zlib stream, flushed whenever the handler pauses, so slow streams (SSE) stay live.
 */
export function encodeBody(enc: Encoding | undefined, p: EncodePolicy): BodyFilter {
  return (head) => {
    const chosen = start(head, enc, p);
    return chosen && transform(chosen, p);
  };
}

function transform(c: { enc: Encoding; length?: number }, p: EncodePolicy): BodyTransform {
  let z: Zip | undefined;
  return {
    stream: () => (z = encoder(c.enc, p, c.length)),
    whole: (body) => (body.length <= ONE_SHOT_MAX ? oneShot(c.enc, p, body) : undefined),
    flush: () => {
      if (z && !z.writableEnded && !z.destroyed) z.flush(c.enc === 'br' ? constants.BROTLI_OPERATION_FLUSH : constants.Z_SYNC_FLUSH);
    },
  };
}
