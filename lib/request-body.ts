// Request buffering: a gateway reads the whole request body from the client before it hands
// the request to an application, as Nginx does in front of Gunicorn. A slow client then ties
// up a socket and a few buffers here, never an application worker, and the application's
// timeout counts its own time only.

import { Readable } from 'node:stream';
import { arg, HttpError, option, type ConfigOf, type Ctx } from '../core/index.js';
import { SpillFile } from './body-spill.js';

const CLOSE = { connection: 'close' };

/**
 * bodyBufferingOptions are the options of a handler that buffers request bodies:
 * `request_buffering on|off` (documented by `requestBufferingDoc`, which says why the handler
 * buffers by default or not: `buffersByDefault`), `body_buffer_size`, `body_max_size` and
 * `body_timeout`, read as Nginx's client_body_buffer_size, client_max_body_size and
 * client_body_timeout. The default of body_max_size (100MB) is larger than Nginx's 1MB, which
 * breaks ordinary uploads; it exists so that a client cannot fill the temporary folder (often RAM).
 */
export function bodyBufferingOptions<const B extends 'on' | 'off'>(requestBufferingDoc: string, buffersByDefault: B) {
  return [
    option({ name: 'request_buffering', doc: requestBufferingDoc, default: buffersByDefault, args: [arg.bool('enabled')] }),
    option({
      name: 'body_buffer_size',
      args: [arg.size('size')],
      default: '64KB',
      doc:
        "While buffering, bodies up to this size stay in memory; a larger one goes to a temporary file in a folder only gatekit's user can enter, " +
        "deleted as soon as it is open so that nothing stays behind (Nginx's client_body_buffer_size). Bound bodies with limit { body }",
    }),
    option({
      name: 'body_max_size',
      args: [arg.size('size')],
      default: '100MB',
      doc:
        'While buffering, the largest body taken when no limit { body } bounds it; a larger one gets 413 and the connection closes ' +
        "(Nginx's client_max_body_size, whose default is 1MB). A limit { body } around the route sets the bound instead",
    }),
    option({
      name: 'body_timeout',
      args: [arg.duration('timeout')],
      default: '60s',
      doc: "While buffering, the longest wait between two reads of the body; then 408 and the connection closes (Nginx's client_body_timeout)",
    }),
  ] as const;
}

/** BodyBufferingConfig is the part of a checked config that bodyBufferingOptions() declares. */
export type BodyBufferingConfig = ConfigOf<{ options: ReturnType<typeof bodyBufferingOptions> }>;

/** BodyBuffering are a handler's buffering settings. */
export interface BodyBuffering {
  /** enabled: the handler buffers bodies (request_buffering). */
  readonly enabled: boolean;
  /** memory is the largest body kept in memory (bytes). */
  readonly memory: number;
  /** timeout is the longest wait between two reads (ms). */
  readonly timeout: number;
  /** max is the largest body taken when no middleware bounds it (bytes). */
  readonly max: number;
}

/** bodyBuffering reads a handler's buffering settings from its checked config. */
export function bodyBuffering(cfg: BodyBufferingConfig): BodyBuffering {
  return { enabled: cfg.request_buffering, memory: cfg.body_buffer_size, timeout: cfg.body_timeout, max: cfg.body_max_size };
}

/** BufferedBody is a body read whole: its exact length, and its bytes when it fit in memory. */
export interface BufferedBody {
  /** length is the body's size in bytes (CONTENT_LENGTH, even for a chunked upload). */
  readonly length: number;
  /** bytes is the whole body when it stayed in memory; undefined when it went to a temporary file. */
  readonly bytes: Buffer | undefined;
}

/**
 * bufferBody reads the request body (ctx.body, so an enclosing `limit { body }` still
 * answers 413) whole: in memory up to `memory` bytes, then in a temporary file. It then
 * replaces ctx.body with a stream of the same bytes, and resolves with their length; it
 * resolves undefined, touching nothing, when the request has no body. It rejects with 408
 * when the client sends nothing for `timeout` ms, 413 past `max` bytes when the body is the
 * request's own (a body stream a middleware set, limit's, bounds itself), and 499 when the
 * client leaves. The
 * temporary file is closed when the response ends, whoever read it.
 */
export function bufferBody(ctx: Ctx, settings: Pick<BodyBuffering, 'memory' | 'timeout' | 'max'>): Promise<BufferedBody | undefined> {
  if (!announcesBody(ctx)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => new Collector(ctx, settings, resolve, reject).start());
}

/** announcesBody tells whether a request comes with a body to read (RFC 9112 6.3); a local redirect's GET has none. */
function announcesBody(ctx: Ctx): boolean {
  if (ctx.methodOverride !== undefined) return false;
  const h = ctx.req.headers;
  return ctx.body !== ctx.req || h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/** Collector is one body being read: every way out goes through finish() or fail() once. */
class Collector {
  private readonly parts: Buffer[] = [];
  private size = 0;
  private file: SpillFile | undefined;
  private flushing = false;
  private ended = false;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly src: Readable;
  /** max bounds the request's own body; a middleware's stream bounds itself (Infinity here). */
  private readonly max: number;
  private readonly onData = (chunk: Buffer): void => this.take(chunk);
  private readonly onEnd = (): void => {
    this.ended = true;
    if (!this.flushing) this.finish();
  };
  private readonly onError = (e: Error): void => this.fail(e instanceof HttpError ? e : gone(e));
  private readonly onClose = (): void => {
    if (!this.ended) this.fail(gone());
  };
  private readonly onIdle = (): void => this.fail(new HttpError(408, 'request body timed out', { headers: CLOSE }));

  constructor(
    private readonly ctx: Ctx,
    private readonly settings: Pick<BodyBuffering, 'memory' | 'timeout' | 'max'>,
    private readonly resolve: (b: BufferedBody) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.src = ctx.body;
    this.max = this.src === ctx.req ? settings.max : Infinity;
  }

  start(): void {
    if (this.src.readableEnded) {
      this.ended = true;
      this.finish();
      return;
    }
    this.src.on('data', this.onData);
    this.src.once('end', this.onEnd);
    this.src.once('error', this.onError);
    this.src.once('close', this.onClose);
    this.ctx.res.once('close', this.onClose);
    this.arm();
    this.src.resume();
  }

  /** arm starts the wait for the client's next bytes (a cleared timer cannot be refreshed: a new one). */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onIdle, this.settings.timeout);
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** take keeps a piece in memory, or (past the memory size) pauses the client while the pieces go to the file. */
  private take(chunk: Buffer): void {
    this.timer?.refresh();
    this.size += chunk.length;
    if (this.size > this.max) {
      this.fail(new HttpError(413, `request body larger than body_max_size (${this.max} bytes)`, { headers: CLOSE }));
      return;
    }
    this.parts.push(chunk);
    if (this.file === undefined && this.size <= this.settings.memory) return;
    if (!this.flushing) void this.flush();
  }

  /** flush writes the pieces held so far to the temporary file (opened the first time); the client waits meanwhile, and its timer with it. */
  private async flush(): Promise<void> {
    this.flushing = true;
    this.src.pause();
    this.disarm();
    try {
      this.file ??= await SpillFile.open();
      while (this.parts.length && !this.settled) await this.file.write(this.parts.splice(0));
    } catch (e) {
      this.fail(new HttpError(500, 'cannot keep the request body in a temporary file', { cause: e }));
      return;
    } finally {
      this.flushing = false;
    }
    if (this.settled) {
      void this.file?.close();
      return;
    } // failed (client gone) while the file opened
    if (this.ended) {
      this.finish();
      return;
    }
    this.arm();
    this.src.resume();
  }

  private finish(): void {
    if (this.settled) return;
    this.detach();
    const file = this.file;
    let bytes: Buffer | undefined;
    if (file) {
      this.ctx.body = file.reader();
      this.ctx.res.once('close', () => void file.close()); // close() never rejects
    } else {
      bytes = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
      this.ctx.body = Readable.from(bytes.length ? [bytes] : [], { objectMode: false });
    }
    this.resolve({ length: this.size, bytes });
  }

  private fail(e: HttpError): void {
    if (this.settled) return;
    this.detach();
    this.src.pause();
    this.src.on('error', () => {}); // a body stream of our own (limit's) may still fail later: nobody reads it any more
    void this.file?.close();
    this.reject(e);
  }

  private detach(): void {
    this.settled = true;
    this.disarm();
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.src.off('error', this.onError);
    this.src.off('close', this.onClose);
    this.ctx.res.off('close', this.onClose);
  }
}

/** gone is the error for a client that left before sending its whole body (Nginx logs such a request as 499). */
function gone(cause?: unknown): HttpError {
  return new HttpError(499, 'the client closed the connection before sending the whole body', { cause });
}
