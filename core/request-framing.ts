import type { IncomingMessage } from 'node:http';

/** hasBody tells whether a request announces a body (a Content-Length above 0, or any Transfer-Encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}
