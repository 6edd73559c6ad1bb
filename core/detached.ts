// A request no client sent: a copy of one that was, served through the same routes while
// its answer goes nowhere (a cache refreshing an entry in the background). The handlers see
// a request and a kernel response as ever; the response's bytes are dropped as written.

import { IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { GateResponse } from './response.js';

/** Detached is a made-up exchange: its request, its response, and when the response is over. */
export interface Detached {
  readonly req: IncomingMessage;
  readonly res: GateResponse;
  /** over resolves once the response finished or was cut. */
  readonly over: Promise<void>;
}

/**
 * detachedExchange makes a GET for `from`'s target with `headers` and no body, and a
 * response on a connection that takes every byte and keeps none; the connection closes once
 * the response is over, as a client's would.
 */
export function detachedExchange(from: IncomingMessage, headers: IncomingHttpHeaders): Detached {
  const socket = new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  const req = new IncomingMessage(socket as unknown as Socket);
  req.method = 'GET';
  req.url = from.url;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.headers = { ...headers };
  req.rawHeaders = Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v.flatMap((x) => [k, x]) : v === undefined ? [] : [k, v]));
  req.complete = true;
  req.push(null);
  const res = new GateResponse(req);
  res.assignSocket(socket as unknown as Socket);
  const over = new Promise<void>((resolve) => {
    const done = (): void => {
      socket.destroy();
      resolve();
    };
    res.once('finish', done);
    res.once('close', done);
  });
  return { req, res, over };
}
