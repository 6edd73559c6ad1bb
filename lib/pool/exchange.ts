import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { type Ctx, HttpError, type Logger } from '../../core/index.js';
import { LINK_FRAME } from './frames.js';
import type { Link } from './link.js';
import type { PoolLinks } from './links.js';
import { PoolStream } from './stream.js';

/** HTTP_FRAME names the kinds of an HTTP exchange over a link (wsgi and asgi alike), by the byte that marks them. */
export const HTTP_FRAME = {
  /** head: gatekit → Python: a flag digit and a NUL (HEAD_FLAG), then the plugin's request head. */
  head: 0x48, // H
  /** body: gatekit → Python, a chunk of the request body. */
  body: 0x42, // B
  /** end: gatekit → Python, the request body is complete. */
  end: 0x45, // E
  /** start: Python → gatekit, the status ("200 OK" or "200") then header names and values, NUL-separated, latin-1. */
  start: 0x53, // S
  /** data: Python → gatekit, a chunk of the response body (passed on in pieces). */
  data: 0x44, // D
  /** finish: Python → gatekit, the response is complete; ends the stream. */
  finish: 0x46, // F
  /** whole: Python → gatekit, a whole response: a 4-byte length, the start payload, the body; ends the stream. */
  whole: 0x57, // W
  /** error: Python → gatekit, the application failed; the payload is the traceback (utf-8); ends the stream. */
  error: 0x58, // X
  /** log: Python → gatekit, lines for the error log (wsgi.errors, utf-8). */
  log: 0x4c, // L
} as const;

/**
 * HEAD_FLAG starts a head frame's payload: '0' for a request without a body, '1' when body
 * frames follow, '2' for one without a body that the worker may give back (it was prefetched).
 */
const HEAD_FLAG = { none: '0\0', body: '1\0', recallable: '2\0' } as const;

/** ParsedHead is a start payload parsed: status, reason, and header names and values in turn (as writeHead takes them). */
type ParsedHead = readonly [number, string | undefined, string[]];
/** HEADS caches the parsed start payloads of the responses seen (status line and headers repeat): payload → parse. */
const HEADS = new Map<string, ParsedHead>();
const HEADS_MAX = 256;
/** lastHead is the start payload writeHead took last (a copy) and its parse: the same head again is known by its bytes, with no string made or hashed. */
let lastHead: { raw: Buffer; head: ParsedHead } | undefined;

/** ExchangeSpec is how a plugin's HTTP exchanges differ. */
export interface ExchangeSpec {
  /** kind is the plugin's name, for errors and log lines. */
  readonly kind: string;
  /** timeout (ms) runs from the exchange's start on a link. */
  readonly timeout: number;
  /**
   * killOnTimeout: a synchronous worker (wsgi) cannot drop one request, so an exchange past its
   * timeout kills its worker, and the timeout runs until the response ends (also after the
   * client left); otherwise (asgi) it runs until the response starts, and the app gets the
   * ABORT (http.disconnect).
   */
  readonly killOnTimeout: boolean;
  readonly log: Logger;
}

const RES = Symbol('gatekit.exchange');

/** onResClose is every exchange's 'close' listener of its response (one function, no closure per request). */
function onResClose(this: ServerResponse & { [RES]?: HttpExchange }): void {
  this[RES]?.clientClosed();
}

/**
 * HttpExchange is one HTTP request served through a pool as a stream of a link: it sends the
 * head and the body (pausing the body while the link is full or the worker asked to PAUSE),
 * and passes the response on to the client, asking the worker to PAUSE while the client is
 * slow. run() resolves when the response has ended, or rejects with the HttpError the kernel
 * renders: 500 app error, 502 worker died or spoke nonsense, 503 (PoolLinks) no worker, 504
 * timeout. The timeout does not run while the exchange waits for the client's body.
 */
export class HttpExchange extends PoolStream {
  private settled = false;
  private ended = false;
  private body: Readable | undefined;
  private bodyEnded = false;
  private pausedByWorker = false;
  private pausedOut = false;
  private resolve!: () => void;
  private reject!: (e: HttpError) => void;

  /** head is the plugin's request head (latin-1); `hasBody`: body frames follow it (from ctx.body). */
  constructor(
    readonly ctx: Ctx,
    private readonly pool: PoolLinks,
    private readonly hasBody: boolean,
    private readonly head: string,
    private readonly spec: ExchangeSpec,
  ) {
    super();
  }

  /** mayWait: a request without a body may be prefetched (only its head is sent before it starts). */
  get mayWait(): boolean {
    return !this.hasBody;
  }

  /** run submits the exchange to the pool and settles with the response. */
  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      const res = this.ctx.res as ServerResponse & { [RES]?: HttpExchange };
      if (res.destroyed) {
        resolve();
        return;
      } // the client left while a worker was awaited: its 'close' is past
      res[RES] = this;
      res.on('close', onResClose);
      this.pool.submit(this);
    });
  }

  opened(link: Link, id: number): void {
    link.out.text(HTTP_FRAME.head, id, this.head, this.hasBody ? HEAD_FLAG.body : this.prefetched ? HEAD_FLAG.recallable : HEAD_FLAG.none);
    this.pool.running.add(this, this.spec.timeout, this.openedAt);
    if (this.hasBody) this.sendBody(this.ctx.body);
  }

  frame(kind: number, payload: Buffer): void {
    if (kind === HTTP_FRAME.finish || kind === HTTP_FRAME.whole || kind === HTTP_FRAME.error) this.streamEnded();
    if (this.settled) return;
    switch (kind) {
      case HTTP_FRAME.whole:
        return this.whole(payload);
      case HTTP_FRAME.start:
        this.started();
        this.writeHead(payload);
        return;
      case HTTP_FRAME.finish:
        this.ctx.res.end();
        return this.done();
      case HTTP_FRAME.error:
        return this.fail(
          new HttpError(500, this.spec.killOnTimeout ? `${this.spec.kind} application raised an exception` : `${this.spec.kind} application failed`, {
            cause: new Error(payload.toString('utf8')),
          }),
        );
      case HTTP_FRAME.log:
        return this.logLines(payload);
      case LINK_FRAME.pause:
        this.pausedByWorker = true;
        this.body?.pause();
        return;
      case LINK_FRAME.resume:
        this.pausedByWorker = false;
        return this.drained();
      default:
        return this.fail(new HttpError(502, `${this.spec.kind} worker sent an unknown frame 0x${kind.toString(16)}`));
    }
  }

  data(piece: Buffer): void {
    if (this.settled) return;
    const res = this.ctx.res;
    if (res.write(piece) || this.pausedOut) return;
    this.pausedOut = true;
    this.link!.out.frame(LINK_FRAME.pause, this.id);
    res.once('drain', () => {
      this.pausedOut = false;
      if (!this.ended) this.link!.out.frame(LINK_FRAME.resume, this.id);
    });
  }

  lost(): void {
    this.streamEnded();
    if (!this.settled) this.fail(new HttpError(502, `${this.spec.kind} worker ${this.link?.pid || '?'} exited before it answered`));
  }

  drained(): void {
    const body = this.body;
    if (body === undefined || this.bodyEnded || this.pausedByWorker || this.ended) return;
    if (this.link!.out.needDrain) this.link!.waitDrain(this);
    else body.resume();
  }

  back(): boolean {
    if (this.settled || this.body !== undefined) return false;
    this.pool.running.remove(this);
    this.link = undefined;
    this.id = 0;
    return true;
  }

  refused(e: HttpError): void {
    if (!this.settled) this.fail(e);
  }

  expired(): void {
    if (this.waitingOnClient()) {
      this.pool.running.add(this, this.spec.timeout);
      return;
    }
    const { kind, timeout, log } = this.spec;
    if (!this.spec.killOnTimeout) {
      this.link!.stall(); // its event loop may be blocked: nothing new goes there until it answers
      this.fail(new HttpError(504, `${kind} application did not start its response within ${timeout}ms`));
      return;
    }
    const pid = this.link!.pid;
    log.error(`${kind} worker ${pid} did not answer within ${timeout}ms; killing it`, { request_id: this.ctx.requestId });
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    if (!this.settled) this.fail(new HttpError(504, `${kind} application timed out`));
  }

  /** clientClosed: the response closed; before it finished, the client left (the worker gets ABORT). */
  clientClosed(): void {
    if (this.settled || this.ctx.res.writableFinished) return;
    this.settle();
    if (this.link === undefined) this.pool.cancel(this);
    this.resolve();
  }

  /** waitingOnClient: the body is not all here and nothing else holds it up; the timeout waits for the client. */
  private waitingOnClient(): boolean {
    return this.body !== undefined && !this.bodyEnded && !this.pausedByWorker && !this.settled && !this.link!.out.needDrain;
  }

  private sendBody(body: Readable): void {
    this.body = body;
    body.on('data', (chunk: Buffer) => {
      if (this.ended || this.settled) return;
      const out = this.link!.out;
      out.frame(HTTP_FRAME.body, this.id, chunk);
      if (this.pausedByWorker) body.pause();
      else if (out.needDrain) {
        body.pause();
        this.link!.waitDrain(this);
      }
    });
    body.on('end', () => {
      this.bodyEnded = true;
      if (!this.ended && !this.settled) this.link!.out.frame(HTTP_FRAME.end, this.id);
    });
    body.on('error', (e) => {
      if (!this.settled) this.fail(e instanceof HttpError ? e : new HttpError(400, 'request body failed', { cause: e }));
    });
  }

  private started(): void {
    if (!this.spec.killOnTimeout) this.pool.running.remove(this);
  }

  /** streamEnded: the link dropped the stream (its last frame came, or the link closed). */
  private streamEnded(): void {
    this.ended = true;
    this.pool.running.remove(this);
  }

  private whole(payload: Buffer): void {
    const n = payload.readUInt32BE(0);
    if (!this.writeHead(payload.subarray(4, 4 + n))) return;
    this.ctx.res.end(payload.subarray(4 + n));
    this.done();
  }

  /** writeHead sends the status and headers the application gave; false (and a 502) when Node refuses them. */
  private writeHead(payload: Buffer): boolean {
    const last = lastHead;
    const head = last !== undefined && payload.equals(last.raw) ? last.head : parseHead(payload);
    try {
      this.ctx.res.writeHead(head[0], head[1], head[2]);
      return true;
    } catch (e) {
      HEADS.delete(payload.toString('latin1'));
      lastHead = undefined;
      this.fail(new HttpError(502, `${this.spec.kind} application sent an invalid status or header: ${(e as Error).message}`, { cause: e }));
      return false;
    }
  }

  private logLines(payload: Buffer): void {
    const meta = { request_id: this.ctx.requestId, pid: this.link!.pid };
    for (const line of payload.toString('utf8').split('\n')) this.spec.log.warn(line, meta);
  }

  private settle(): void {
    this.settled = true;
    if (!this.spec.killOnTimeout) this.pool.running.remove(this);
    if (!this.ended) this.link?.abort(this.id);
  }

  private done(): void {
    this.settled = true;
    this.resolve();
  }

  private fail(e: HttpError): void {
    this.settle();
    if (this.link === undefined) this.pool.cancel(this);
    this.reject(e);
  }
}

/** parseHead parses a start payload (through HEADS) and remembers it as lastHead. */
function parseHead(payload: Buffer): ParsedHead {
  const text = payload.toString('latin1');
  let head = HEADS.get(text);
  if (head === undefined) {
    const parts = text.split('\0');
    const status = parts.shift()!;
    head = [Number(status.slice(0, 3)), status.length > 4 ? status.slice(4) : undefined, parts];
    if (HEADS.size >= HEADS_MAX) HEADS.clear(); // heads that vary (a cookie, a date) must not crowd out those that repeat for long
    HEADS.set(text, head);
  }
  lastHead = { raw: Buffer.from(payload), head }; // a copy: the payload is a view of the bytes read
  return head;
}
