import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { UnitDecl } from './config.js';
import { Ctx } from './context.js';
import { detachedExchange } from './detached.js';
import { answerError, logFailure } from './error-response.js';
import { HttpError } from './errors.js';
import type { Unit } from './plugin.js';
import { cleanPath } from './request-path.js';
import type { ChainBuilder, RouteEntry, RouteMatch, Router } from './router.js';
import { addSlash } from './slash-redirect.js';

/** MAX_INTERNAL_REDIRECTS bounds how often one request is routed again (Nginx also stops at 10). */
export const MAX_INTERNAL_REDIRECTS = 10;

/** RedispatchOptions adjust an internal redirect (ctx.redispatch). */
export interface RedispatchOptions {
  /** method replaces the request method (a CGI local redirect is a GET). */
  readonly method?: string;
}

/** Routing is what a request's server does for ctx.redispatch and ctx.sameRoute. */
export interface Routing {
  redispatch(ctx: Ctx, target: string, o?: RedispatchOptions): Promise<void>;
  sameRoute(ctx: Ctx, path: string): boolean;
  detach(ctx: Ctx, headers: IncomingHttpHeaders, init?: (sub: Ctx) => void): Promise<void>;
}

/**
 * ServerRouting routes the requests of one server block: those that arrive (serve) and those
 * a plugin sends through routing again (redispatch), along the same path.
 */
export class ServerRouting implements Routing {
  /** `arrived` hears the route of each request that arrives (not of one routed again or detached): the admin's counts. */
  constructor(
    private readonly router: Router,
    private readonly unitOf: (d: UnitDecl) => Unit,
    private readonly chain: ChainBuilder,
    private readonly arrived?: (entry: RouteEntry) => void,
  ) {}

  /**
   * serve runs the route `ctx.path` reaches: a slash redirect for a prefix asked without its
   * slash, else the route's chain, less the middleware in `ran` (which wraps this request
   * already). With no route, it throws a 404 at once (no promise for a request answered so).
   */
  serve(ctx: Ctx, ran?: ReadonlySet<Unit>): Promise<void> {
    const m = this.router.match(ctx.path);
    if (!m) throw new HttpError(404);
    if (!ran) this.arrived?.(m.entry);
    return this.run(ctx, m, ran);
  }

  /** run serves `ctx` on the route `m` it reached (see serve). */
  private run(ctx: Ctx, m: RouteMatch, ran?: ReadonlySet<Unit>): Promise<void> {
    if (m.addSlash) return addSlash(ctx, m.entry);
    ctx.mount = m.entry.mount;
    ctx.captures = m.captures;
    if (!ran) return m.entry.handle(ctx);
    return this.chain(
      m.entry.middleware.filter((d) => !ran.has(this.unitOf(d))),
      m.entry.decl,
    )(ctx);
  }

  /** redispatch serves `ctx` as if it had asked for `target` (percent-encoded, maybe with ?query); see Ctx.redispatch. */
  async redispatch(ctx: Ctx, target: string, o: RedispatchOptions = {}): Promise<void> {
    const q = target.indexOf('?');
    const rawPath = q < 0 ? target : target.slice(0, q);
    const clean = cleanPath(rawPath);
    if (!clean.ok) throw new HttpError(500, `bad internal redirect: ${clean.reason}`);
    const from = this.router.match(ctx.path);
    const ran = redirectTrail(ctx.req, from ? from.entry.middleware.map(this.unitOf) : []);
    const next = new Ctx(ctx.req, ctx.res, ctx.conn, ctx.host, clean.path, rawPath, q < 0 ? '' : target.slice(q + 1), ctx.log, this);
    next.upgrade = ctx.upgrade;
    next.authority = ctx.authority;
    next.methodOverride = o.method ?? ctx.methodOverride;
    for (const [k, v] of ctx.vars) next.vars.set(k, v);
    await this.serve(next, ran);
  }

  /** detach serves a copy of `ctx`'s request that no client sent (see Ctx.detach); a route it no longer reaches is nothing to do. */
  async detach(ctx: Ctx, headers: IncomingHttpHeaders, init?: (sub: Ctx) => void): Promise<void> {
    const m = this.router.match(ctx.path);
    if (!m || m.addSlash) return;
    const { req, res, over } = detachedExchange(ctx.req, headers);
    const sub = new Ctx(req, res, ctx.conn, ctx.host, ctx.path, ctx.rawPath, ctx.query, ctx.log, this);
    sub.authority = ctx.authority;
    init?.(sub);
    try {
      await this.run(sub, m);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      logFailure(sub, e, status);
      if (!res.headersSent) answerError(sub, status, e instanceof HttpError ? e : undefined);
    }
    await over;
  }

  /** sameRoute tells whether the decoded `path` reaches the route that serves `ctx`. */
  sameRoute(ctx: Ctx, path: string): boolean {
    return this.router.match(path)?.entry === this.router.match(ctx.path)?.entry;
  }
}

/** Trail is what a request routed again carries along: how often, and the middleware that already wraps it. */
interface Trail {
  depth: number;
  readonly ran: Set<Unit>;
}

// Keyed by Node's request, which every Ctx of one request shares; made only on a redirect.
const trails = new WeakMap<IncomingMessage, Trail>();

/**
 * redirectTrail records one more internal redirect of `req`, whose route so far ran the
 * middleware `ran`, and returns every unit that wraps the request already. The next route
 * leaves those out of its chain: a server's `log` writes one line, `compress` encodes once,
 * `headers` adds once, `limit` counts once; middleware of the new route alone still runs
 * (an `auth` on the PHP route guards index.php reached from /). Past
 * MAX_INTERNAL_REDIRECTS it throws a 500: a loop, as Nginx's "internal redirection cycle".
 * Every kind of internal redirect (index files, fallbacks, CGI and FastCGI local Location)
 * counts here, so one limit holds for them all.
 */
function redirectTrail(req: IncomingMessage, ran: readonly Unit[]): ReadonlySet<Unit> {
  let t = trails.get(req);
  if (!t) trails.set(req, (t = { depth: 0, ran: new Set() }));
  if (++t.depth > MAX_INTERNAL_REDIRECTS) throw new HttpError(500, `internal redirection cycle: more than ${MAX_INTERNAL_REDIRECTS} internal redirects`);
  for (const u of ran) t.ran.add(u);
  return t.ran;
}
