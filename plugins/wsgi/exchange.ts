import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { HttpError, pumpBody, relayData, type BodyPump, type Ctx, type Logger } from '../../core/index.js';
import { hasBody, headPayload } from './environ.js';
import { FRAME, FrameReader, frame } from './frames.js';

const END = frame(FRAME.end);
const UNAVAILABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);

/**
 * exchange serves one request through the pool: it connects to the pool socket (a Python
 * worker accepts), sends the head and streams the body, and streams the response back,
 * with backpressure both ways. It resolves when the response has ended, and rejects with
 * the HttpError the kernel should render (500 app error, 502 worker died, 503 pool down,
 * 504 timeout, after which the stuck worker is killed). The timeout does not run while the
 * exchange waits for the client's body. `length` is the exact length of a buffered body.
 */
export function exchange(ctx: Ctx, poolPath: string, timeout: number, log: Logger, length?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const res = ctx.res;
    if (res.destroyed) { resolve(); return; } // the client left while a worker was awaited: its 'close' is past
    const body: Readable = ctx.body;
    const sock: Socket = connect(poolPath);
    let pid = 0;
    let settled = false;
    let pump: BodyPump | undefined;

    const finish = (e?: HttpError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      res.off('close', onClientGone);
      pump?.stop();
      // A worker that answered before reading the whole body reads on until END: send it.
      if (!e && pump && !pump.ended) sock.end(END); else sock.destroy();
      if (e) reject(e); else resolve();
    };
    const timer = setTimeout(() => {
      if (pump?.waitingOnClient) { timer.refresh(); return; }
      if (pid) {
        log.error(`wsgi worker ${pid} did not answer within ${timeout}ms; killing it`, { request_id: ctx.requestId });
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      finish(new HttpError(504, 'wsgi application timed out'));
    }, timeout);
    const onClientGone = (): void => { if (!res.writableFinished) finish(); };
    res.on('close', onClientGone);

    const reader = new FrameReader({
      data: relayData(sock, res, () => settled),
      control(kind, payload) {
        if (settled) return;
        switch (kind) {
          case FRAME.pid: pid = payload.readUInt32BE(0); return;
          case FRAME.status: return writeHead(ctx, payload);
          case FRAME.finish: res.end(); return finish();
          case FRAME.log: for (const line of payload.toString('utf8').split('\n')) log.warn(line, { request_id: ctx.requestId, pid }); return;
          case FRAME.error: return finish(new HttpError(500, 'wsgi application raised an exception', { cause: new Error(payload.toString('utf8')) }));
          default: return finish(new HttpError(502, `wsgi worker sent an unknown frame 0x${kind.toString(16)}`));
        }
      },
    });
    sock.on('data', (c: Buffer) => {
      try { reader.push(c); } catch (e) { finish(e instanceof HttpError ? e : new HttpError(502, 'wsgi worker sent a bad response', { cause: e })); }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!pid && UNAVAILABLE.has(e.code ?? '')) finish(new HttpError(503, 'wsgi pool is not running', { cause: e }));
      else finish(new HttpError(502, `wsgi worker ${pid || '?'} failed`, { cause: e }));
    });
    sock.on('close', () => finish(new HttpError(502, `wsgi worker ${pid || '?'} exited before it answered`)));

    if (!hasBody(ctx)) {
      sock.write(Buffer.concat([headPayload(ctx, length), END]));
      return;
    }
    sock.write(headPayload(ctx, length));
    pump = pumpBody(body, sock, FRAME.body, END, (e) => finish(e instanceof HttpError ? e : new HttpError(400, 'request body failed', { cause: e })));
  });
}

/** writeHead sends the status and headers the application gave start_response. */
function writeHead(ctx: Ctx, payload: Buffer): void {
  const parts = payload.toString('latin1').split('\0');
  const status = parts[0];
  const headers = parts.slice(1);
  try {
    ctx.res.writeHead(Number(status.slice(0, 3)), status.slice(4), headers);
  } catch (e) {
    throw new HttpError(502, `wsgi application sent an invalid status or header: ${(e as Error).message}`, { cause: e });
  }
}
