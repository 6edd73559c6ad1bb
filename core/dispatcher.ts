import type { IncomingHttpHeaders } from 'node:http';
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
  /**
   * detach serves a GET of `ctx`'s target, with `headers`, through its server's route and
   * every middleware, with no client: the answer is dropped as it goes (a cache refreshing an
   * entry sees it with its filters). `init` prepares the new request (its ctx.state).
   * Resolves once the answer is over; a failure is logged, never thrown.
   */
  detach(ctx: Ctx, headers: IncomingHttpHeaders, init?: (sub: Ctx) => void): Promise<void>;
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
  detach(ctx: Ctx, headers: IncomingHttpHeaders, init?: (sub: Ctx) => void): Promise<void> {
    return this.live().detach(ctx, headers, init);
  }
  private live(): Dispatcher {
    if (!this.target) throw new Error('redispatch before the worker started');
    return this.target;
  }
}
