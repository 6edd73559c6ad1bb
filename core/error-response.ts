import { STATUS_CODES } from 'node:http';
import type { Ctx } from './context.js';
import { HttpError } from './errors.js';

/** CLIENT_CLOSED is the status logged for a request whose client left before its answer (Nginx's 499). */
export const CLIENT_CLOSED = 499;

/**
 * errorBody is what a client reads in an error response: the status and its reason phrase,
 * the message when it is meant for the client, and the request id that finds the log line.
 */
export function errorBody(status: number, requestId: string, message?: string): string {
  const reason = STATUS_CODES[status] ?? 'Error';
  const detail = message && message !== reason ? `${message}\n` : '';
  return `${status} ${reason}\n${detail}request id: ${requestId}\n`;
}

/** clientGone tells whether the client closed its connection before the response was complete. */
export function clientGone(ctx: Ctx): boolean {
  const socket = ctx.req.socket;
  return !ctx.res.writableFinished && (socket.destroyed || !socket.writable);
}

/**
 * logClientClosed writes the one line for a request whose client left first: info, as Nginx
 * logs its 499s, with the handler's error message (no stack) when that error was unexpected.
 */
export function logClientClosed(ctx: Ctx, e?: unknown): void {
  if (!ctx.res.headersSent) ctx.res.statusCode = CLIENT_CLOSED; // $status reads it
  ctx.log.info('client closed the request', {
    request_id: ctx.requestId,
    method: ctx.method,
    uri: ctx.uri,
    status: CLIENT_CLOSED,
    error: e instanceof Error && !(e instanceof HttpError) ? e.message : undefined,
  });
}

/**
 * logFailure writes the log line of an error answered to a client: every 5xx at error level
 * with its detail (a stack for an unexpected error), and a 4xx at info when its message,
 * hidden from the client, says more than the status does. One line, with the request id.
 */
export function logFailure(ctx: Ctx, e: unknown, status: number): void {
  const http = e instanceof HttpError ? e : undefined;
  if (http?.logged) return;
  const fields = { request_id: ctx.requestId, method: ctx.method, uri: ctx.uri, status };
  if (status >= 500) {
    const error = !http ? (e instanceof Error ? (e.stack ?? e.message) : String(e)) : http.cause instanceof Error ? http.cause.message : undefined;
    ctx.log.error(http?.message ?? 'request failed', { ...fields, error });
  } else if (http && !http.expose && http.message !== STATUS_CODES[status]) {
    ctx.log.info(http.message, fields);
  }
}

/** answerError sends an error response (see errorBody); when even that cannot be written (a header hook that throws), it cuts the connection. */
export function answerError(ctx: Ctx, status: number, http?: HttpError): void {
  const res = ctx.res;
  res.statusMessage = ''; // a writeHead that threw (a header Node refused) left its reason phrase behind
  const body = errorBody(status, ctx.requestId, http?.expose ? http.message : undefined);
  try {
    void ctx.send(status, body, { 'content-type': 'text/plain; charset=utf-8', ...(http?.headers ?? {}) });
  } catch (again) {
    ctx.log.error('could not answer with an error response; connection closed', {
      request_id: ctx.requestId,
      uri: ctx.uri,
      status,
      error: (again as Error).message,
    });
    res.destroy();
  }
}
