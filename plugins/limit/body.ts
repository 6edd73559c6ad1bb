import { Readable } from 'node:stream';
import { HttpError } from '../../core/index.js';

const CLOSE = { connection: 'close' };

/**
 * LimitedBody is a request body that errors with HttpError(413) before passing on a byte
 * past `max`, and with HttpError(408) when the client sends nothing for `idle` ms while the
 * handler waits for more. Both answers close the connection. It attaches to the request
 * only when first read, so a handler that ignores the body leaves Node to discard it.
 */
export class LimitedBody extends Readable {
  private seen = 0;
  private attached = false;
  private ended = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly src: Readable,
    private readonly max: number,
    private readonly idle: number,
  ) {
    super();
  }

  override _read(): void {
    if (!this.attached) {
      this.attached = true;
      // the request may be over before anyone reads: ended (no events will come), or cut off
      if (this.src.readableEnded) {
        this.onEnd();
        return;
      }
      if (this.src.destroyed) {
        this.gone();
        return;
      }
      this.src.on('data', this.onData);
      this.src.once('end', this.onEnd);
      this.src.once('error', this.onError);
      this.src.once('close', this.onClose);
    }
    this.arm();
    this.src.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.seen += chunk.length;
    if (this.seen > this.max) {
      this.fail(new HttpError(413, `request body larger than ${this.max} bytes`, { headers: CLOSE }));
      return;
    }
    if (this.push(chunk)) this.arm();
    else {
      this.disarm();
      this.src.pause();
    }
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.disarm();
    this.push(null);
  };
  // the request's own failure is its connection's: the client left (499, as Nginx logs it)
  private readonly onError = (e: Error): void => {
    if (e instanceof HttpError) this.fail(e);
    else this.gone();
  };
  private readonly onClose = (): void => {
    if (!this.ended) this.gone();
  };

  private gone(): void {
    this.fail(new HttpError(499, 'the client closed the connection before sending the whole body'));
  }

  private arm(): void {
    if (!Number.isFinite(this.idle)) return;
    this.disarm();
    this.timer = setTimeout(() => this.fail(new HttpError(408, 'request body timed out', { headers: CLOSE })), this.idle);
  }

  private disarm(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private fail(e: Error): void {
    this.src.pause();
    this.destroy(e);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.disarm();
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.src.off('error', this.onError);
    this.src.off('close', this.onClose);
    cb(err);
  }
}
