import { IncomingMessage } from 'node:http';
import { keepRequestMembers, keepResponseMethods, type Ctx, type Logger } from '../../core/index.js';
import type { Listener } from './load.js';

/**
 * serveListener calls a Node request listener with the request and response, and resolves
 * once the response has finished or the client has gone. A listener that throws (or whose
 * promise rejects) before answering hands the error to the kernel (500, logged); after it
 * started answering, the response is cut off and the error logged.
 */
export function serveListener(ctx: Ctx, listener: Listener, log: Logger): Promise<void> {
  const res = ctx.res;
  const replaced = ctx.body !== ctx.req;
  const req = replaced ? surrogate(ctx) : ctx.req;
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (): void => {
      settled = true;
      res.off('finish', done);
      res.off('close', done);
      resolve();
    };
    res.once('finish', done);
    res.once('close', done);
    const fail = (e: unknown): void => {
      if (settled) return;
      if (!res.headersSent) {
        settled = true;
        res.off('finish', done);
        res.off('close', done);
        reject(e);
        return;
      }
      log.error('application failed after it started answering', { request_id: ctx.requestId, error: (e as Error)?.message ?? String(e) });
      res.destroy();
    };
    // a replaced body that fails (413 from a size limit...) answers for the application
    if (replaced) ctx.body.once('error', fail);
    keepResponseMethods(res); // Express swaps the response's and the request's prototypes for its own
    keepRequestMembers(req);
    try {
      const out = listener(req, res) as { then?: unknown } | undefined;
      if (out && typeof out.then === 'function') (out as Promise<unknown>).then(undefined, fail);
    } catch (e) {
      fail(e);
    }
  });
}

/**
 * surrogate is a request like ctx.req whose body is ctx.body, for when a middleware (a
 * size limit, a decoder) replaced the body stream: listeners read `req` itself.
 */
function surrogate(ctx: Ctx): IncomingMessage {
  const orig = ctx.req;
  const body = ctx.body;
  const msg = new IncomingMessage(orig.socket);
  msg.method = orig.method;
  msg.url = orig.url;
  msg.httpVersion = orig.httpVersion;
  msg.httpVersionMajor = orig.httpVersionMajor;
  msg.httpVersionMinor = orig.httpVersionMinor;
  msg.headers = orig.headers;
  msg.rawHeaders = orig.rawHeaders;
  msg._read = () => {
    body.resume();
  };
  msg._destroy = (err, cb) => cb(err); // the connection is the kernel's: never destroy it from here
  body.on('data', (chunk: Buffer) => {
    if (!msg.push(chunk)) body.pause();
  });
  body.once('end', () => {
    msg.complete = true;
    msg.push(null);
  });
  body.once('error', () => msg.destroy()); // serveListener answers with the error
  return msg;
}
