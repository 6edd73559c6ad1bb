import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DONE, HttpError, type Ctx } from '../../core/index.js';
import { ifRangeHolds, precondition } from './conditional.js';
import type { FileCache, FileEntry } from './file-cache.js';
import { parseRange, type ByteRange } from './range.js';

/** SendOptions are the per-response facts the file itself does not give. */
export interface SendOptions {
  readonly contentType: string;
  readonly cacheControl?: string | undefined;
  /** vary adds Vary: Accept-Encoding (when precompressed variants exist). */
  readonly vary: boolean;
  /** encoding is the Content-Encoding of a precompressed variant. */
  readonly encoding?: string;
}

/** READ_CHUNK is the read size for files streamed from disk: larger than the 64 KiB default, fewer reads and writes per file. */
const READ_CHUNK = 256 * 1024;

/**
 * sendFile answers a GET or HEAD with a file: validators and 304/412, then 200, 206 (one
 * range), multipart/byteranges (several) or 416. Small cached files are written from memory,
 * synchronously; others stream from an open descriptor with backpressure, never read whole.
 */
export function sendFile(ctx: Ctx, cache: FileCache, found: FileEntry, o: SendOptions): Promise<void> {
  try {
    const pre = precondition(ctx.req.headers, found);
    if (pre === 304) {
      ctx.res.writeHead(304, validators(found, o)).end();
      return DONE;
    }
    if (pre === 412) throw new HttpError(412);
    return found.body ? (write(ctx, found, o, undefined) ?? DONE) : fromDisk(ctx, cache, found, o);
  } catch (e) {
    return Promise.reject(e);
  }
}

async function fromDisk(ctx: Ctx, cache: FileCache, found: FileEntry, o: SendOptions): Promise<void> {
  const { fh, entry } = await cache.open(found);
  try {
    await write(ctx, entry, o, fh);
  } finally {
    await fh.close();
  }
}

/** write sends the representation, or the ranges asked; it returns undefined when it is done already. */
function write(ctx: Ctx, entry: FileEntry, o: SendOptions, fh: FileHandle | undefined): Promise<void> | undefined {
  const range = ctx.req.headers.range;
  if (range === undefined && entry.body) {
    ctx.res.writeHead(200, (entry.head ??= { ...fullHeaders(entry, o), 'content-length': entry.body.length }));
    ctx.res.end(ctx.method === 'HEAD' ? undefined : entry.body);
    return undefined;
  }
  const headers = fullHeaders(entry, o);
  const size = entry.stat.size;
  const ranges = range !== undefined && ifRangeHolds(ctx.req.headers, entry) ? parseRange(range, size) : undefined;
  if (ranges === 'unsatisfiable') throw new HttpError(416, 'Range Not Satisfiable', { headers: { 'content-range': `bytes */${size}` } });
  if (ranges === undefined) return body(ctx, 200, headers, entry, fh, { start: 0, end: size - 1 });
  if (ranges.length === 1) {
    headers['content-range'] = `bytes ${ranges[0].start}-${ranges[0].end}/${size}`;
    return body(ctx, 206, headers, entry, fh, ranges[0]);
  }
  return multipart(ctx, headers, entry, fh, ranges);
}

/** fullHeaders are the headers of a 200 or 206 but its length and range. */
function fullHeaders(entry: FileEntry, o: SendOptions): OutgoingHttpHeaders {
  const headers = validators(entry, o);
  headers['content-type'] = o.contentType;
  headers['accept-ranges'] = 'bytes';
  if (o.encoding) headers['content-encoding'] = o.encoding;
  return headers;
}

/** validators are the headers a 304 repeats: ETag, Last-Modified, Cache-Control, Vary. */
function validators(e: FileEntry, o: SendOptions): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = { etag: e.etag, 'last-modified': e.lastModified };
  if (o.cacheControl) h['cache-control'] = o.cacheControl;
  if (o.vary) h.vary = 'Accept-Encoding';
  return h;
}

/** body writes one byte range (possibly the whole file, possibly empty) as the response. */
function body(ctx: Ctx, status: number, headers: OutgoingHttpHeaders, e: FileEntry, fh: FileHandle | undefined, r: ByteRange): Promise<void> | undefined {
  const length = r.end - r.start + 1;
  headers['content-length'] = length;
  const res = ctx.res;
  res.writeHead(status, headers);
  if (ctx.method === 'HEAD' || length === 0) {
    res.end();
    return undefined;
  }
  if (e.body) {
    res.end(r.start === 0 && length === e.body.length ? e.body : e.body.subarray(r.start, r.end + 1));
    return undefined;
  }
  return stream(ctx, fh!.createReadStream({ start: r.start, end: r.end, autoClose: false, highWaterMark: READ_CHUNK }), length);
}

/** multipart writes several ranges as multipart/byteranges (RFC 9110 14.6). */
function multipart(ctx: Ctx, headers: OutgoingHttpHeaders, e: FileEntry, fh: FileHandle | undefined, ranges: readonly ByteRange[]): Promise<void> | undefined {
  const boundary = randomBytes(12).toString('hex');
  const type = String(headers['content-type']);
  const size = e.stat.size;
  const heads = ranges.map((r) => Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`));
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = heads.reduce((n, h, i) => n + h.length + ranges[i].end - ranges[i].start + 1, tail.length);
  headers['content-type'] = `multipart/byteranges; boundary=${boundary}`;
  headers['content-length'] = length;
  ctx.res.writeHead(206, headers);
  if (ctx.method === 'HEAD') {
    ctx.res.end();
    return undefined;
  }
  const mem = e.body;
  if (mem) {
    ctx.res.end(Buffer.concat([...ranges.flatMap((r, i) => [heads[i], mem.subarray(r.start, r.end + 1)]), tail]));
    return undefined;
  }
  return stream(
    ctx,
    Readable.from(
      (async function* parts() {
        for (const [i, r] of ranges.entries()) {
          yield heads[i];
          yield* fh!.createReadStream({ start: r.start, end: r.end, autoClose: false, highWaterMark: READ_CHUNK });
        }
        yield tail;
      })(),
    ),
    length,
  );
}

/**
 * stream pipes a source into the response, which ends only when all its `length` bytes went:
 * a file cut short while it was sent leaves the response incomplete, so the connection is
 * closed (RFC 9112 6.3) rather than kept for a next response the client would read as body.
 * A client that goes away is not an error.
 */
async function stream(ctx: Ctx, source: Readable, length: number): Promise<void> {
  let sent = 0;
  const count = async function* counted(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const c of chunks) {
      sent += c.length;
      yield c;
    }
  };
  try {
    await pipeline(source, count, ctx.res, { end: false });
  } catch (e) {
    if (ctx.res.destroyed || (e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    throw e;
  }
  if (sent === length) {
    ctx.res.end();
    return;
  }
  ctx.log.warn('file shrank while it was sent; connection closed', { uri: ctx.uri, sent, length });
  ctx.res.destroy();
}
