import { HttpError, type Ctx } from '../../core/index.js';
import type { RequestFraming } from './framing.js';

/** Timeouts bound each wait on an upstream, in ms (nginx's proxy_*_timeout meaning). */
export interface Timeouts {
  readonly connect: number;
  readonly read: number;
  readonly send: number;
}

/** Phase is where an exchange stands: connecting, sending the body, or reading the response. */
export type Phase = 'connect' | 'send' | 'read';

/** UpstreamFailure is an exchange that failed on the upstream's side; the handler decides on retries. */
export class UpstreamFailure extends Error {
  constructor(
    message: string,
    readonly phase: Phase,
    /** timeout is true when a timer, not the network, ended it (504 rather than 502). */
    readonly timeout: boolean,
    /** responded is true once response headers came: nothing can be retried then. */
    readonly responded: boolean,
    /** bodySent is true once any request body byte was read from the client: it cannot be replayed. */
    readonly bodySent: boolean,
    /** stale is true for a pooled connection (or HTTP/2 stream) the upstream never took up: safe to retry. */
    readonly stale: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamFailure';
  }
}

/**
 * Attempt is what an exchange with an HTTP/1.1 upstream and one with an HTTP/2 upstream share:
 * the client's side (its body read with backpressure, the answer written with backpressure,
 * its leaving), the watchdog of each phase, and the ways out of a failed attempt. Every path
 * out goes through the subclass's completion, fail(), broken() or clientGone(), once.
 */
export abstract class Attempt {
  protected phase: Phase = 'connect';
  protected timer: NodeJS.Timeout | undefined;
  /** bodySent: a request body byte was read from the client (the request cannot be replayed). */
  protected bodySent = false;
  /** bodyDone: the whole request is sent upstream. */
  protected bodyDone: boolean;
  /** waitingDrain: the client's response is full; the upstream is paused until it drains. */
  protected waitingDrain = false;
  protected done = false;
  private readonly onClientClose = (): void => {
    if (!this.ctx.res.writableFinished) this.clientGone();
  };
  protected readonly onBodyData = (chunk: Buffer): void => this.sendBody(chunk);
  protected readonly onBodyEnd = (): void => this.endBody();
  /** onBodyError: the client's body failed: a limit passed (its HttpError is the answer), or the client left. */
  protected readonly onBodyError = (e: Error): void => {
    if (e instanceof HttpError || !(this.ctx.req.destroyed || this.ctx.res.destroyed)) this.broken(e);
    else this.clientGone();
  };
  private readonly onClientDrain = (): void => {
    this.waitingDrain = false;
    if (!this.done) this.resumeUpstream();
  };

  constructor(
    protected readonly ctx: Ctx,
    protected readonly framing: RequestFraming,
    private readonly timeouts: Timeouts,
    protected readonly resolve: () => void,
    protected readonly reject: (e: unknown) => void,
  ) {
    this.bodyDone = framing.body === 'none';
  }

  /** sendBody sends one chunk of the client's body upstream. */
  protected abstract sendBody(chunk: Buffer): void;
  /** endBody ends the request upstream once the client's body has ended. */
  protected abstract endBody(): void;
  protected abstract pauseUpstream(): void;
  protected abstract resumeUpstream(): void;
  /** waitingOnClient tells whether a quiet phase is the client's doing (a slow reader or sender), not the upstream's. */
  protected abstract waitingOnClient(): boolean;
  /** failure describes an upstream failure for the handler (retry or not, 502 or 504). */
  protected abstract failure(e: Error, timeout: boolean): UpstreamFailure;
  /** closeUpstream lets go of a failed exchange's upstream connection or stream. */
  protected abstract closeUpstream(): void;

  /** watchClient starts following the client; false (the attempt rejected) when it left before the proxy began (during a slow middleware). */
  protected watchClient(): boolean {
    if (this.ctx.res.destroyed) {
      this.done = true;
      this.reject(new HttpError(499, 'Client Closed Request'));
      return false;
    }
    this.ctx.res.on('close', this.onClientClose);
    return true;
  }

  /** readBody starts reading the client's body (only once the upstream is connected, so a failed connect can be retried with it). */
  protected readBody(): void {
    this.arm('send');
    const src = this.ctx.body;
    if (src.destroyed) {
      this.onBodyError(src.errored ?? new Error('the request body ended before it was read'));
      return;
    }
    src.on('data', this.onBodyData);
    src.once('end', this.onBodyEnd);
    src.once('error', this.onBodyError);
    src.resume();
  }

  /** upstreamDrained takes more of the client's body once the upstream has taken what it had. */
  protected upstreamDrained(): void {
    if (this.done || this.bodyDone) return;
    this.timer?.refresh();
    this.ctx.body.resume();
  }

  /** forward writes a chunk of the answer to the client, pausing the upstream until the client drains. */
  protected forward(chunk: Buffer): void {
    if (this.ctx.res.write(chunk) || this.waitingDrain) return;
    this.waitingDrain = true;
    this.pauseUpstream();
    this.ctx.res.once('drain', this.onClientDrain);
  }

  /** arm (re)starts the watchdog for a phase: connect, send (upstream not taking the body) or read. */
  protected arm(phase: Phase): void {
    const same = this.timer !== undefined && this.timeouts[phase] === this.timeouts[this.phase];
    this.phase = phase;
    // send and read usually share their timeout (60s each by default): one timer, restarted
    if (same) {
      this.timer!.refresh();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(), this.timeouts[phase]);
  }

  private onTimer(): void {
    if (this.done) return;
    if (this.waitingOnClient()) {
      this.timer?.refresh();
      return;
    }
    const e = new Error(`upstream timed out (${this.phase})`);
    (e as NodeJS.ErrnoException).code = 'ETIMEDOUT';
    this.fail(e, true);
  }

  protected fail(e: Error, timeout = false): void {
    if (this.done) return;
    const f = this.failure(e, timeout);
    this.end();
    this.reject(f);
  }

  /**
   * broken stops an exchange whose request body failed, or does not match the framing sent
   * (a body stream that ran long or short): the upstream connection or stream goes, half a
   * request on it, and the request fails with the body's error.
   */
  protected broken(e: Error): void {
    if (this.done) return;
    this.end();
    this.reject(e);
  }

  protected clientGone(): void {
    if (this.done) return;
    this.end();
    this.reject(new HttpError(499, 'Client Closed Request'));
  }

  /** end stops a failed exchange: timers, listeners, and the upstream connection or stream. */
  private end(): void {
    this.cleanup(true);
    this.done = true;
    this.closeUpstream();
  }

  /** cleanup drops timers and listeners; after a failure, an untouched client body is paused for a retry. */
  protected cleanup(failed = false): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined; // arm() restarts a timer it still holds: a cleared one must not come back
    this.ctx.res.off('close', this.onClientClose);
    if (this.waitingDrain) this.ctx.res.off('drain', this.onClientDrain);
    if (this.framing.body === 'none') return;
    const src = this.ctx.body;
    src.off('data', this.onBodyData);
    src.off('end', this.onBodyEnd);
    src.off('error', this.onBodyError);
    if (failed && !this.bodySent) src.pause();
  }
}
