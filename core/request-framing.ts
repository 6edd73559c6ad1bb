import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';

/** CLOSE asks for the connection to close after the response: what follows the head cannot be framed. */
const CLOSE = { connection: 'close' } as const;

/**
 * framingError returns the error for a request whose body gatekit cannot frame, else
 * undefined. gatekit decodes one transfer coding, `chunked`, alone: Node's parser takes
 * `gzip, chunked` as chunked, and the gzip coding would be lost on the way to the handler,
 * so any other coding is 501, as from Nginx (RFC 9112 6.1). An HTTP/1.0 message with
 * Transfer-Encoding has faulty framing (RFC 9112 6.1), a 400. Both close the connection.
 */
export function framingError(req: IncomingMessage): HttpError | undefined {
  const te = req.headers['transfer-encoding'];
  if (te === undefined) return undefined;
  if (te.length !== 7 || te.toLowerCase() !== 'chunked') {
    return new HttpError(501, `unsupported transfer coding '${te}'`, { headers: CLOSE });
  }
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) {
    return new HttpError(400, 'Transfer-Encoding in an HTTP/1.0 request', { headers: CLOSE });
  }
  return undefined;
}

/** hasBody tells whether a request announces a body (a Content-Length above 0, or any Transfer-Encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}
