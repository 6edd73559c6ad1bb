import type { Ctx } from './context.js';
import { GateError, HttpError } from './errors.js';
import type { AnyUnit as Unit, Next } from './plugin.js';

/** Handle runs a composed chain for one request. */
export type Handle = (ctx: Ctx) => Promise<void>;

const notFound: Next = () => Promise.reject(new HttpError(404));
const clientGone = (): Promise<void> => Promise.reject(new HttpError(499, 'Client Closed Request'));

/**
 * compose builds a route's chain once per worker: middleware outer first, then the handler.
 * With `guard` (outside production) a middleware calling next() twice is an error. A unit
 * after one that waited (an auth check, a rate counter) does not start for a client that
 * has left meanwhile: its response's 'close' is past, so it would wait for it in vain.
 */
export function compose(middleware: readonly Unit[], handler: Unit | undefined, guard = process.env.NODE_ENV !== 'production'): Handle {
  const units = handler ? [...middleware, handler] : middleware;
  for (const u of units) {
    if (typeof u.handle !== 'function') throw new GateError('GK_PLUGIN_INVALID', 'a handler or middleware unit has no handle()');
  }
  const handling = units as readonly Required<Pick<Unit, 'handle'>>[];
  if (handling.length === 1) {
    const only = handling[0]; // a method call: cheaper than a bound function per request
    return (ctx) => {
      try {
        return only.handle(ctx, notFound);
      } catch (e) {
        return Promise.reject(e);
      }
    };
  }
  const fns = handling.map((u) => u.handle.bind(u));
  return (ctx) => {
    let index = -1;
    const run = (i: number): Promise<void> => {
      if (guard && i <= index) return Promise.reject(new GateError('GK_CHAIN_NEXT_TWICE', 'next() called twice in one middleware'));
      index = i;
      const fn = fns[i];
      if (!fn) return notFound();
      if (ctx.res.destroyed) return clientGone();
      try {
        return fn(ctx, () => run(i + 1));
      } catch (e) {
        return Promise.reject(e);
      }
    };
    return run(0);
  };
}
