import type { ServerResponse } from 'node:http';
import { brotliCompressSync, constants, createBrotliCompress, createDeflate, createGzip, deflateSync, gzipSync, type BrotliCompress, type Deflate, type Gzip } from 'node:zlib';
import { beforeHead } from '../../core/index.js';
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
function eligible(res: ServerResponse, p: EncodePolicy): boolean {
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

function addVary(res: ServerResponse): void {
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
  if (enc === 'br') return brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: p.brQuality, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } });
  return enc === 'gzip' ? gzipSync(body, { level: p.gzipLevel }) : deflateSync(body, { level: p.gzipLevel });
}

const asBuffer = (chunk: unknown, enc: unknown): Buffer =>
  typeof chunk === 'string' ? Buffer.from(chunk, (typeof enc === 'string' ? enc : 'utf8') as BufferEncoding)
    : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);

/** start switches the head to the encoded representation and returns the coding to use, or undefined to send as is. */
function start(res: ServerResponse, enc: Encoding | undefined, p: EncodePolicy): { enc: Encoding; length?: number } | undefined {
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

const byteLength = (chunk: unknown, enc: unknown): number =>
  typeof chunk === 'string' ? Buffer.byteLength(chunk, (typeof enc === 'string' ? enc : 'utf8') as BufferEncoding)
    : chunk instanceof Uint8Array ? chunk.byteLength : 0;

/**
 * encodeHead gives the answer to a HEAD the head a GET would get (RFC 9110 9.3.2): the same
 * coding, Vary and weakened ETag, with no body to encode.
 */
export function encodeHead(res: ServerResponse, enc: Encoding | undefined, p: EncodePolicy): void {
  beforeHead(res, (r) => { start(r, enc, p); });
}

/**
 * encodeResponse makes `res` compress its body with `enc` when the head, once written, says
 * it should. The body streams: each write goes through the encoder, whose output is written
 * as it comes, with the socket's backpressure passed back (write() returns false, then
 * 'drain'). Output is flushed when the handler pauses, so slow streams (SSE) stay live.
 */
export function encodeResponse(res: ServerResponse, enc: Encoding | undefined, p: EncodePolicy): void {
  const write = res.write;
  const end = res.end;
  let chosen: { enc: Encoding; length?: number } | undefined;
  let z: Zip | undefined;
  let flushing = false;
  beforeHead(res, (r) => { chosen = start(r, enc, p); });
  /** stream makes the encoder on the first write: a body given whole to end() never needs one. */
  const stream = (r: ServerResponse, c: { enc: Encoding; length?: number }): Zip => {
    if (z) return z;
    const zip = (z = encoder(c.enc, p, c.length));
    zip.on('data', (data: Buffer) => {
      if (!write.call(r, data, 'binary' as BufferEncoding, undefined as never)) { zip.pause(); r.once('drain', () => zip.resume()); }
    });
    zip.on('drain', () => r.emit('drain'));
    zip.on('error', (e) => r.destroy(e));
    r.once('close', () => zip.destroy());
    return zip;
  };
  const flushSoon = (): void => {
    if (flushing) return;
    flushing = true;
    setImmediate(() => {
      flushing = false;
      if (z && !z.writableEnded && !z.destroyed) z.flush(enc === 'br' ? constants.BROTLI_OPERATION_FLUSH : constants.Z_SYNC_FLUSH);
    });
  };
  res.write = function (this: ServerResponse, chunk: unknown, e?: unknown, cb?: unknown) {
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (!chosen) return write.call(this, chunk, e as BufferEncoding, cb as () => void);
    if (typeof e === 'function') { cb = e; e = undefined; }
    const ok = stream(this, chosen).write(chunk, (e ?? 'utf8') as BufferEncoding, cb as () => void);
    flushSoon();
    return ok;
  } as typeof res.write;
  res.end = function (this: ServerResponse, chunk?: unknown, e?: unknown, cb?: unknown) {
    if (typeof chunk === 'function') { cb = chunk; chunk = undefined; } else if (typeof e === 'function') { cb = e; e = undefined; }
    if (!this.headersSent) {
      // A whole body given to end() has a known length: let min_size judge it.
      if (chunk != null && !NO_BODY(this.statusCode) && !this.hasHeader('content-length')) this.setHeader('content-length', byteLength(chunk, e));
      this.writeHead(this.statusCode);
    }
    if (!chosen) return end.call(this, chunk, e as BufferEncoding, cb as () => void);
    if (!z && byteLength(chunk, e) <= ONE_SHOT_MAX) {
      return end.call(this, oneShot(chosen.enc, p, asBuffer(chunk ?? '', e)), 'binary' as BufferEncoding, cb as () => void);
    }
    const zip = stream(this, chosen);
    zip.once('end', () => end.call(this, undefined, 'binary' as BufferEncoding, cb as () => void));
    if (chunk != null) zip.end(chunk, (e ?? 'utf8') as BufferEncoding); else zip.end();
    return this;
  } as typeof res.end;
}
