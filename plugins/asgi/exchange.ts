import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { FrameReader, frame, HttpError, pumpBody, relayData, type BodyPump, type Ctx } from '../../core/index.js';
import { hasBody, headFrame, nulFields } from './scope.js';
import { FRAME } from './settings.js';

const END = frame(FRAME.end);
const UNAVAILABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);

/**
 * exchange serves one HTTP request through the pool: it connects to the pool socket (a
 * Python worker's event loop accepts, beside its other requests), sends the scope and
 * streams the body (http.request chunks), and streams the response back
 * (http.response.start/body), with backpressure both ways. A client that goes away closes
 * the connection: the application's receive() gets http.disconnect. Rejects with the
 * HttpError the kernel should render: 500 app error, 502 worker died, 503 pool down,
 * 504 no response start within `timeout` (which does not run while the exchange waits for
 * the client's body). `length` is the exact length of a buffered body.
 */
export function exchange(ctx: Ctx, poolPath: string, timeout: number, length?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const res = ctx.res;
    if (res.destroyed) { resolve(); return; } // the client left while a worker was awaited: its 'close' is past
    const body: Readable = ctx.body;
    const sock: Socket = connect(poolPath);
    let settled = false;
    let pump: BodyPump | undefined;
    let connected = false;

    const finish = (e?: HttpError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      res.off('close', onClientGone);
      pump?.stop();
      sock.destroy();
      // After the response started, the kernel logs the error and cuts the response short.
      if (e) reject(e); else resolve();
    };
    const timer = setTimeout(() => {
      if (pump?.waitingOnClient) timer.refresh();
      else finish(new HttpError(504, `asgi application did not start its response within ${timeout}ms`));
    }, timeout);
    const onClientGone = (): void => { if (!res.writableFinished) finish(); };
    res.on('close', onClientGone);

    const reader = new FrameReader({
      data: relayData(sock, res, () => settled),
      control(kind, payload) {
        if (settled) return;
        switch (kind) {
          case FRAME.start: clearTimeout(timer); return writeHead(ctx, payload);
          case FRAME.finish: res.end(); return finish();
          case FRAME.error: return finish(new HttpError(500, 'asgi application failed', { cause: new Error(payload.toString('utf8')) }));
          default: return finish(new HttpError(502, `asgi worker sent an unknown frame 0x${kind.toString(16)}`));
        }
      },
    }, FRAME.data);
    sock.on('connect', () => { connected = true; });
    sock.on('data', (c: Buffer) => {
      try { reader.push(c); } catch (e) { finish(e instanceof HttpError ? e : new HttpError(502, 'asgi worker sent a bad response', { cause: e })); }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected && UNAVAILABLE.has(e.code ?? '')) finish(new HttpError(503, 'asgi pool is not running', { cause: e }));
      else finish(new HttpError(502, 'asgi worker failed', { cause: e }));
    });
    sock.on('close', () => finish(new HttpError(502, 'asgi worker closed the connection before the response was complete')));

    if (!hasBody(ctx)) {
      sock.write(Buffer.concat([headFrame(ctx, false, length), END]));
      return;
    }
    sock.write(headFrame(ctx, false, length));
    pump = pumpBody(body, sock, FRAME.bytes, END, (e) => finish(e instanceof HttpError ? e : new HttpError(400, 'request body failed', { cause: e })));
  });
}

/** writeHead sends the status and headers of http.response.start. */
function writeHead(ctx: Ctx, payload: Buffer): void {
  const parts = nulFields(payload);
  try {
    ctx.res.writeHead(Number(parts[0]), parts.slice(1));
  } catch (e) {
    throw new HttpError(502, `asgi application sent an invalid status or header: ${(e as Error).message}`, { cause: e });
  }
}
