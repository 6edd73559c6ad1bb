import type { Readable } from 'node:stream';
import { CgiHeadParser, type CgiHead, type Ctx, type Logger } from '../../core/index.js';
import type { Conn } from './pool.js';
import { beginRequest, endRequest, RecordReader, RecordType, REQUEST_ID, stream, type FcgiRecord } from './protocol.js';


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

class Exchange {
  private readonly reader = new RecordReader();
  private readonly parser = new CgiHeadParser();
  private head: CgiHead | undefined;
  private redirect: string | undefined;
  private stderr = '';
  private readTimer: NodeJS.Timeout | undefined;
  private sendTimer: NodeJS.Timeout | undefined;
  private stdinDone = false;
  private bodyTouched = false;
  private settled = false;
  private onBody: ((chunk: Buffer) => void) | undefined;
  private readonly onClientClose = (): void => { if (!this.ctx.res.writableFinished) this.fail(new ClientGone()); };

  constructor(
    private readonly ctx: Ctx, private readonly conn: Conn, private readonly req: Request, private readonly log: Logger,
    private readonly resolve: (o: Outcome) => void, private readonly reject: (e: unknown) => void,
  ) {}

  start(): void {
    const s = this.conn.socket;
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (e: NodeJS.ErrnoException) => this.lost(e.code ?? e.message));
    s.on('end', () => this.lost('connection closed'));
    s.on('close', () => this.lost('connection closed'));
    this.ctx.res.once('close', this.onClientClose);
    if (this.ctx.res.destroyed) { this.fail(new ClientGone()); return; } // gone before the exchange began: 'close' has fired
    const body = this.req.body;
    const head = [beginRequest(this.conn.keep), stream(RecordType.Params, this.req.params), stream(RecordType.Params, EMPTY)];
    if (body === undefined || Buffer.isBuffer(body)) {
      if (body?.length) head.push(stream(RecordType.Stdin, body));
      head.push(stream(RecordType.Stdin, EMPTY));
      this.send(Buffer.concat(head));
      this.stdinDone = true;
      this.armRead();
      return;
    }
    this.send(Buffer.concat(head));
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
    s.once('drain', () => { clearTimeout(this.sendTimer); this.sendTimer = undefined; });
    return false;
  }

  /** armRead (re)starts the read timeout: the longest wait for the responder's next bytes. */
  private armRead(): void {
    clearTimeout(this.readTimer);
    if (this.settled) return;
    this.readTimer = setTimeout(() => this.fail(new UpstreamFailure('fastcgi: timed out reading the response', true)), this.req.readTimeout);
  }

  private onData(chunk: Buffer): void {
    if (this.settled) return;
    this.conn.answered = true;
    if (this.stdinDone) this.armRead();
    let records: FcgiRecord[];
    try { records = this.reader.push(chunk); } catch (e) { this.fail(new UpstreamFailure(`fastcgi: ${(e as Error).message}`, false)); return; }
    for (const r of records) {
      if (this.settled) return;
      if (r.requestId !== REQUEST_ID) continue;
      if (r.type === RecordType.Stdout) this.onStdout(r.content);
      else if (r.type === RecordType.Stderr) this.onStderr(r.content, false);
      else if (r.type === RecordType.EndRequest) this.onEnd(r.content);
    }
  }

  private onStdout(data: Buffer): void {
    if (this.redirect !== undefined || !data.length) return;
    if (this.head) { this.write(data); return; }
    let got;
    try { got = this.parser.push(data); } catch (e) { this.fail(new UpstreamFailure(`fastcgi: bad response header: ${(e as Error).message}`, false)); return; }
    if (!got) return;
    this.head = got.head;
    if (got.head.localRedirect) { this.redirect = got.head.location; return; }
    const res = this.ctx.res;
    for (const [name, value] of got.head.headers) res.appendHeader(name, value);
    if (got.head.reason !== undefined) res.writeHead(got.head.status, got.head.reason);
    else res.writeHead(got.head.status);
    if (got.rest.length) this.write(got.rest);
  }

  /** write sends body bytes to the client; while it does not take more, reading from the responder stops. */
  private write(data: Buffer): void {
    const res = this.ctx.res;
    if (res.write(data)) return;
    if (res.destroyed) { this.fail(new ClientGone()); return; } // no 'drain' will come
    const s = this.conn.socket;
    s.pause();
    clearTimeout(this.readTimer); // the client is the slow one now
    res.once('drain', () => { if (this.settled) return; s.resume(); this.armRead(); });
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
    if (this.redirect !== undefined) { this.settle({ redirect: this.redirect, reusable }); return; }
    this.ctx.res.end();
    this.settle({ reusable });
  }

  private lost(why: string): void {
    if (this.settled) return;
    const stale = this.conn.reused && !this.conn.answered && !this.bodyTouched;
    this.fail(new UpstreamFailure(`fastcgi: ${why} before the end of the response`, false, stale));
  }

  private finish(): void {
    this.settled = true;
    clearTimeout(this.readTimer);
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
