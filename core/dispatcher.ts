import type { Ctx } from './context.js';

/** Dispatcher lets a plugin send a request through routing again (CGI local redirects, fallbacks). */
export interface Dispatcher {
  /**
   * redispatch serves `ctx` as if it had asked for `path` (which may carry a ?query);
   * `method` replaces the request method for the new dispatch (a CGI local redirect is a GET).
   */
  redispatch(ctx: Ctx, path: string, o?: RedispatchOptions): Promise<void>;
}

/** RedispatchOptions adjust an internal redirect. */
export interface RedispatchOptions {
  readonly method?: string;
}

/** LateDispatcher is filled in once the worker's routers exist; plugins get it at construction. */
export class LateDispatcher implements Dispatcher {
  target: Dispatcher | undefined;
  redispatch(ctx: Ctx, path: string, o?: RedispatchOptions): Promise<void> {
    if (!this.target) throw new Error('redispatch before the worker started');
    return this.target.redispatch(ctx, path, o);
  }
}
