import type { Ctx } from './context.js';

/** Dispatcher lets a plugin send a request through routing again (index files, fallbacks, CGI local redirects). */
export interface Dispatcher {
  /**
   * redispatch serves `ctx` as if it had asked for `path` (percent-encoded, and may carry a
   * ?query): the route for it runs, wrapped only by middleware that has not wrapped this
   * request already. `method` replaces the request method (a CGI local redirect is a GET).
   * More than 10 redirects of one request end in a 500.
   */
  redispatch(ctx: Ctx, path: string, o?: RedispatchOptions): Promise<void>;
  /**
   * sameRoute tells whether `path` (decoded and normalised, as ctx.path) would reach the
   * route that serves `ctx` now: then its handler may serve it itself, without routing again.
   */
  sameRoute(ctx: Ctx, path: string): boolean;
}

/** RedispatchOptions adjust an internal redirect. */
export interface RedispatchOptions {
  readonly method?: string;
}

/** LateDispatcher is filled in once the worker's routers exist; plugins get it at construction. */
export class LateDispatcher implements Dispatcher {
  target: Dispatcher | undefined;
  redispatch(ctx: Ctx, path: string, o?: RedispatchOptions): Promise<void> {
    return this.live().redispatch(ctx, path, o);
  }
  sameRoute(ctx: Ctx, path: string): boolean {
    return this.live().sameRoute(ctx, path);
  }
  private live(): Dispatcher {
    if (!this.target) throw new Error('redispatch before the worker started');
    return this.target;
  }
}
