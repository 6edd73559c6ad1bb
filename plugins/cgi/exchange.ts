import type { Readable, Writable } from 'node:stream';
import { HttpError, type Ctx, type Logger } from '../../core/index.js';
import { BadCgiHead, CgiHeadParser, type CgiHead } from '../../lib/index.js';
import type { HeadParser } from './nph-head.js';
import type { ScriptProcess } from './process.js';

/** Watch tells the exchange what happened to its process meanwhile. */
export interface Watch {
  readonly timedOut: boolean;
  /** inputError is the request body's error (a size limit, a client gone), if any. */
  readonly inputError: Error | undefined;
}

/** hasBody tells whether a request comes with a body (RFC 9112 6.3). */
export function hasBody(ctx: Ctx): boolean {
  const h = ctx.req.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/**
 * feedInput streams the request body (ctx.body) to the script's stdin, with backpressure.
 * A script that stops reading leaves the rest of the body drained, so the connection stays
 * usable; a body that fails calls `failed`.
 */
export function feedInput(ctx: Ctx, stdin: Writable, failed: (e: Error) => void): void {
  const body = ctx.body;
  body.once('error', failed);
  body.pipe(stdin);
  stdin.once('close', () => {
    body.unpipe(stdin);
    body.resume();
  });
}

/**
 * readHead reads the script's stdout up to the end of its header (a CGI header, or what
 * `parser` reads, as an nph- script's): 502 for a bad one, 504 after the timeout.
 */
export function readHead(proc: ScriptProcess, watch: Watch, name: string, parser: HeadParser = new CgiHeadParser()): Promise<{ head: CgiHead; rest: Buffer }> {
  const out = proc.stdout;
  return new Promise((resolve, reject) => {
    let cancel = (): void => {};
    const stop = (): void => {
      out.off('data', onData);
      cancel();
    };
    const onData = (chunk: Buffer): void => {
      try {
        const got = parser.push(chunk);
        if (!got) return;
        stop();
        out.pause();
        resolve(got);
      } catch (e) {
        stop();
        reject(badHead(name, e as Error));
      }
    };
    const onEnd = (): void => {
      stop();
      if (watch.timedOut) reject(new HttpError(504, `CGI script ${name} timed out`));
      else if (watch.inputError) reject(watch.inputError);
      else {
        try {
          parser.end();
        } catch (e) {
          reject(badHead(name, e as Error));
        }
      }
    };
    out.on('data', onData);
    cancel = whenDone(out, onEnd);
  });
}

/**
 * whenDone calls `done` once the output has ended or closed, at once if that happened
 * already: a stream that reached its end while nobody listened (paused between the head
 * and the body, or before the script was known to run) emits 'end' only once. It returns a
 * function that cancels the call.
 */
function whenDone(out: Readable, done: () => void): () => void {
  let called = false;
  const once = (): void => {
    if (called) return;
    cancel();
    done();
  };
  const cancel = (): void => {
    called = true;
    out.off('end', once);
    out.off('close', once);
  };
  if (out.readableEnded || out.destroyed) queueMicrotask(once);
  else {
    out.once('end', once);
    out.once('close', once);
  }
  return cancel;
}

function badHead(name: string, e: Error): HttpError {
  return new HttpError(502, `CGI script ${name} sent a bad header: ${e.message}`, { cause: e instanceof BadCgiHead ? undefined : e });
}

/**
 * sendResponse answers with the script's status and header fields, then streams the rest
 * of its stdout as the body, with backpressure. It resolves once the response is done or
 * the client has gone; a script killed by the timeout mid-body gets the response cut off.
 */
export function sendResponse(ctx: Ctx, head: CgiHead, rest: Buffer, out: Readable, watch: Watch, log: Logger): Promise<void> {
  const res = ctx.res;
  for (const [name, value] of head.headers) res.appendHeader(name, value);
  if (head.reason !== undefined) res.writeHead(head.status, head.reason);
  else res.writeHead(head.status);
  return new Promise((resolve) => {
    // a client gone mid-response leaves the output paused for a 'drain' that never comes: drop it
    res.once('close', () => {
      if (!out.readableEnded) out.destroy();
      resolve();
    });
    if (rest.length) res.write(rest);
    out.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) {
        out.pause();
        res.once('drain', () => out.resume());
      }
    });
    whenDone(out, () => {
      // output that closes without an end failed mid-way (a reset socket): cut the response off
      if (!out.readableEnded) {
        res.destroy();
        return;
      }
      if (!watch.timedOut) {
        res.end();
        return;
      }
      log.error('CGI script timed out while sending its body; response cut off', { request_id: ctx.requestId });
      res.destroy();
    });
    out.resume();
  });
}

/**
 * sendRaw copies an nph- script's output to the client's connection unparsed; the script
 * writes the status line and header itself. The connection closes after it.
 */
export function sendRaw(ctx: Ctx, socket: Writable & { destroy(): void }, out: Readable, watch: Watch): Promise<void> {
  return new Promise((resolve) => {
    let first = true;
    socket.once('close', () => resolve());
    socket.once('finish', () => resolve());
    socket.once('error', () => {});
    out.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        const m = /^HTTP\/\d\.\d (\d{3})/.exec(chunk.toString('latin1', 0, 16));
        if (m) ctx.res.statusCode = Number(m[1]); // for logs: the status the script chose
      }
      if (!socket.write(chunk)) {
        out.pause();
        socket.once('drain', () => out.resume());
      }
    });
    whenDone(out, () => {
      if (watch.timedOut || !out.readableEnded) socket.destroy();
      else socket.end();
    });
  });
}
