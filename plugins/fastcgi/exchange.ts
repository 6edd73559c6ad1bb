import type { Readable } from 'node:stream';
import type { Ctx, Logger } from '../../core/index.js';
import { CgiHeadParser, type CgiHead } from '../../lib/index.js';
import type { Conn, Sink } from './pool.js';
import { endRequest, RecordReader, RecordType, REQUEST_ID, requestHead, stream, type FcgiRecord } from './protocol.js';

const EMPTY = Buffer.alloc(0);
const PROTOCOL_STATUS = ['complete', 'cannot multiplex', 'overloaded', 'unknown role'];

/** UpstreamFailure is a FastCGI exchange that went wrong: the handler answers 502, or 504 for a timeout. */
export class UpstreamFailure extends Error {
  constructor(
    message: string,
    readonly timeout: boolean,
    /** stale: a reused connection closed before any answer, with nothing of the body consumed: safe to retry on a new one. */
    readonly stale = false,
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

/** ClientGone is an exchange abandoned because the client closed its connection. */
export class ClientGone extends Error {
  constructor() {
    super('client went away');
    this.name = 'ClientGone';
  }
}

/** Request is what one exchange sends: encoded params and the body, whole (a Buffer), streamed, or none. */
export interface Request {
  readonly params: Buffer;
  readonly body: Buffer | Readable | undefined;
  readonly readTimeout: number;
  readonly sendTimeout: number;
}

/** Outcome is how an exchange ended: a response sent, or a local redirect to serve instead; `reusable` if the connection may serve another request. */
export type Outcome = { readonly redirect?: string; readonly reusable: boolean };

/**
 * exchange runs one request on a connection: FCGI_BEGIN_REQUEST, FCGI_PARAMS, FCGI_STDIN
 * (streamed with backpressure), then reads records until FCGI_END_REQUEST: FCGI_STDOUT is
 * parsed as a CGI response and streamed to the client with backpressure, FCGI_STDERR lines
 * go to the error log. It rejects with UpstreamFailure, or with the body's own error (a
 * size limit).
 */
export function exchange(ctx: Ctx, conn: Conn, req: Request, log: Logger): Promise<Outcome> {
  return new Promise((resolve, reject) => new Exchange(ctx, conn, req, log, resolve, reject).start());
}

/** NO_LENGTH are the statuses whose response never has a Content-Length of its own body. */
const NO_LENGTH = (status: number): boolean => status < 200 || status === 204 || status === 304;

class Exchange implements Sink {
  private readonly reader = new RecordReader();
  private readonly parser = new CgiHeadParser();
  private head: CgiHead | undefined;
  private headSent = false;
  /** out holds the body bytes of the read being processed: sent when it is done, so that a response read whole goes out as one write with its length. */
  private readonly out: Buffer[] = [];
  private redirect: string | undefined;
  private stderr = '';
  private readTimer: NodeJS.Timeout | undefined;
  private sendTimer: NodeJS.Timeout | undefined;
  private stdinDone = false;
  private bodyTouched = false;
  private settled = false;
  private onBody: ((chunk: Buffer) => void) | undefined;
  private readonly onClientClose = (): void => {
    if (!this.ctx.res.writableFinished) this.fail(new ClientGone());
  };

  constructor(
    private readonly ctx: Ctx,
    private readonly conn: Conn,
    private readonly req: Request,
    private readonly log: Logger,
    private readonly resolve: (o: Outcome) => void,
    private readonly reject: (e: unknown) => void,
  ) {}

  start(): void {
    const s = this.conn.socket;
    this.conn.sink = this;
    this.ctx.res.on('close', this.onClientClose);
    if (this.ctx.res.destroyed) {
      this.fail(new ClientGone());
      return;
    } // gone before the exchange began: 'close' has fired
    if (s.destroyed || s.readableEnded) {
      this.lost('connection closed');
      return;
    } // closed while it was handed over
    const body = this.req.body;
    if (body === undefined || Buffer.isBuffer(body)) {
      this.send(requestHead(this.req.params, this.conn.keep, body ?? EMPTY));
      this.stdinDone = true;
      this.armRead();
      return;
    }
    this.send(requestHead(this.req.params, this.conn.keep));
    this.feed(body);
  }

  /** feed streams the request body as FCGI_STDIN records, pausing it while the socket is full. */
  private feed(body: Readable): void {
    this.onBody = (chunk: Buffer): void => {
      this.bodyTouched = true;
      if (this.settled) return;
      if (!this.send(stream(RecordType.Stdin, chunk))) {
        body.pause();
        this.conn.socket.once('drain', () => body.resume());
      }
    };
    body.on('data', this.onBody);
    body.once('end', () => {
      if (this.settled) return;
      this.send(stream(RecordType.Stdin, EMPTY));
      this.stdinDone = true;
      this.armRead();
    });
    body.once('error', (e) => this.fail(e));
  }

  /** send writes to the responder; while it does not take more, the send timeout runs. */
  private send(buf: Buffer): boolean {
    const s = this.conn.socket;
    if (s.write(buf)) return true;
    this.sendTimer ??= setTimeout(() => this.fail(new UpstreamFailure('fastcgi: timed out sending the request', true)), this.req.sendTimeout);
    s.once('drain', () => {
      clearTimeout(this.sendTimer);
      this.sendTimer = undefined;
    });
    return false;
  }

  /** armRead (re)starts the read timeout: the longest wait for the responder's next bytes. */
  private armRead(): void {
    if (this.settled) return;
    if (this.readTimer) this.readTimer.refresh();
    else this.readTimer = setTimeout(() => this.fail(new UpstreamFailure('fastcgi: timed out reading the response', true)), this.req.readTimeout);
  }

  private disarmRead(): void {
    clearTimeout(this.readTimer);
    this.readTimer = undefined; // a cleared timer cannot be refreshed
  }

  /** data takes bytes from the responder (Sink). */
  data(chunk: Buffer): void {
    if (this.settled) return;
    this.conn.answered = true;
    if (this.stdinDone) this.armRead();
    let records: FcgiRecord[];
    try {
      records = this.reader.push(chunk);
    } catch (e) {
      this.fail(new UpstreamFailure(`fastcgi: ${(e as Error).message}`, false));
      return;
    }
    for (const r of records) {
      if (this.settled) return;
      if (r.requestId !== REQUEST_ID) continue;
      if (r.type === RecordType.Stdout) this.onStdout(r.content);
      else if (r.type === RecordType.Stderr) this.onStderr(r.content, false);
      else if (r.type === RecordType.EndRequest) {
        this.onEnd(r.content);
        return;
      }
    }
    this.flush();
  }

  private onStdout(data: Buffer): void {
    if (this.redirect !== undefined || !data.length) return;
    if (this.head) {
      this.out.push(data);
      return;
    }
    let got;
    try {
      got = this.parser.push(data);
    } catch (e) {
      this.fail(new UpstreamFailure(`fastcgi: bad response header: ${(e as Error).message}`, false));
      return;
    }
    if (!got) return;
    this.head = got.head;
    if (got.head.localRedirect) {
      this.redirect = got.head.location;
      return;
    }
    if (got.rest.length) this.out.push(got.rest);
  }

  /** flush sends what the last read brought: the head once it is complete, then body bytes. */
  private flush(): void {
    if (!this.head || this.redirect !== undefined) return;
    if (!this.headSent) this.sendHead(undefined);
    for (const b of this.out) {
      if (this.settled) break;
      this.write(b);
    }
    this.out.length = 0;
  }

  /**
   * sendHead writes the status and headers, with Content-Length when the whole body is known
   * (`length`) and the script set none: the client then gets no chunked framing. With no
   * header set before (by middleware), node takes the list as it is instead of one setHeader each.
   */
  private sendHead(length: number | undefined): void {
    this.headSent = true;
    const res = this.ctx.res;
    const { status, reason, headers } = this.head!;
    const sized =
      length !== undefined &&
      this.ctx.req.method !== 'HEAD' &&
      !NO_LENGTH(status) &&
      !headers.some(([name]) => name.length === 14 && name.toLowerCase() === 'content-length');
    if (res.getHeaderNames().length === 0) {
      const raw: string[] = [];
      for (const [name, value] of headers) raw.push(name, value);
      if (sized) raw.push('Content-Length', String(length));
      if (reason !== undefined) res.writeHead(status, reason, raw);
      else res.writeHead(status, raw);
      return;
    }
    for (const [name, value] of headers) res.appendHeader(name, value);
    if (sized) res.setHeader('Content-Length', length!);
    if (reason !== undefined) res.writeHead(status, reason);
    else res.writeHead(status);
  }

  /** write sends body bytes to the client; while it does not take more, reading from the responder stops. */
  private write(data: Buffer): void {
    const res = this.ctx.res;
    if (res.write(data)) return;
    if (res.destroyed) {
      this.fail(new ClientGone());
      return;
    } // no 'drain' will come
    const s = this.conn.socket;
    s.pause();
    this.disarmRead(); // the client is the slow one now
    res.once('drain', () => {
      if (this.settled) return;
      s.resume();
      this.armRead();
    });
  }

  private onStderr(data: Buffer, flush: boolean): void {
    this.stderr += data.toString('utf8');
    const lines = this.stderr.split('\n');
    this.stderr = flush ? '' : lines.pop()!;
    for (const line of lines) if (line.trim()) this.log.error(`fastcgi stderr: ${line.trimEnd()}`, { request_id: this.ctx.requestId });
  }

  private onEnd(content: Buffer): void {
    this.onStderr(EMPTY, true);
    const { protocolStatus } = endRequest(content);
    if (protocolStatus !== 0) {
      this.fail(new UpstreamFailure(`fastcgi: request refused (${PROTOCOL_STATUS[protocolStatus] ?? protocolStatus})`, false));
      return;
    }
    if (!this.head) {
      this.fail(new UpstreamFailure(this.parser.received ? 'fastcgi: response ended inside the header' : 'fastcgi: no output', false));
      return;
    }
    const reusable = this.conn.keep && this.stdinDone && !this.reader.partial;
    if (this.redirect !== undefined) {
      this.settle({ redirect: this.redirect, reusable });
      return;
    }
    if (this.headSent) {
      this.flush();
      this.ctx.res.end();
    } else {
      // the whole response came in one read
      const body = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out);
      this.out.length = 0;
      this.sendHead(body.length);
      this.ctx.res.end(body);
    }
    this.settle({ reusable });
  }

  /** lost is the socket failing, ending or closing (Sink). */
  lost(why: string): void {
    if (this.settled) return;
    const stale = this.conn.reused && !this.conn.answered && !this.bodyTouched;
    this.fail(new UpstreamFailure(`fastcgi: ${why} before the end of the response`, false, stale));
  }

  private finish(): void {
    this.settled = true;
    this.disarmRead();
    clearTimeout(this.sendTimer);
    this.ctx.res.off('close', this.onClientClose);
    const body = this.req.body;
    if (body !== undefined && !Buffer.isBuffer(body) && !this.stdinDone && this.onBody) {
      body.off('data', this.onBody);
      body.resume(); // drain what the responder did not read, so the client connection stays usable
    }
  }

  private settle(o: Outcome): void {
    this.finish();
    this.resolve(o);
  }

  private fail(e: unknown): void {
    if (this.settled) return;
    this.finish();
    this.conn.socket.destroy();
    this.reject(e);
  }
}
