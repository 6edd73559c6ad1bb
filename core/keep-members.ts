// Kernel requests and responses kept whole under a framework that swaps their prototypes.

import { GateH2Request } from './http2-request.js';
import { PIPELINE } from './response.js';

/**
 * keepClassMembers copies the methods and accessors `proto` defines itself onto `obj`: own
 * properties stay when a framework (Express) gives `obj` a prototype of its own that inherits
 * from Node's class, past the kernel's.
 */
function keepClassMembers(obj: object, proto: object): void {
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name !== 'constructor') Object.defineProperty(obj, name, Object.getOwnPropertyDescriptor(proto, name)!);
  }
}

/**
 * keepResponseMethods copies the methods and accessors of a kernel response's class onto the
 * response itself, for a framework that gives each response a prototype of its own that
 * inherits from Node's class, past the kernel's (Express does): own properties stay, so its
 * writes still go through the pipeline. Called only where such code runs (the `app` handler),
 * since own properties on every response cost each request some speed.
 */
export function keepResponseMethods(res: object): void {
  const proto = Object.getPrototypeOf(res) as object;
  // a kernel response, not yet given its own (and its class's, not a framework's, since kernel classes define writeHead)
  if (!(PIPELINE in res) || Object.hasOwn(res, 'writeHead') || !Object.hasOwn(proto, 'writeHead')) return;
  keepClassMembers(res, proto);
}

/**
 * keepRequestMembers does for a kernel HTTP/2 request what keepResponseMethods does for a
 * response: Express swaps the request's prototype for one that inherits from IncomingMessage,
 * whose body reading, socket, `complete` and `setTimeout` know nothing of an HTTP/2 stream
 * (its method, URL, headers and trailers are own properties already). An HTTP/1.1 request is
 * Node's own, and is left alone.
 */
export function keepRequestMembers(req: object): void {
  if (req instanceof GateH2Request && !Object.hasOwn(req, '_read')) keepClassMembers(req, GateH2Request.prototype);
}
