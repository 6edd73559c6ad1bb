import type { Matcher, RouteDecl, UnitDecl } from './config.js';
import type { Handle } from './compose.js';

/** RouteEntry is one routable route: its matcher, mount point and composed chain. */
export interface RouteEntry {
  readonly matcher: Matcher;
  /** mount is the enclosing prefix without its trailing slash ('' for /). */
  readonly mount: string;
  /** within is the parent prefix a nested regex route must also lie inside. */
  readonly within: string;
  readonly handle: Handle;
  readonly decl: RouteDecl;
  /** middleware is what wraps the handler, outer first (the server's, then each enclosing route's). */
  readonly middleware: readonly UnitDecl[];
  /** hit is the shared match result for routes without captures (one object, not one per request). */
  readonly hit?: RouteMatch;
  /** slashHit is a prefix route's match for its prefix without the trailing slash (a redirect). */
  readonly slashHit?: RouteMatch;
}

const NO_CAPTURES: readonly string[] = Object.freeze([]);

/** RouteMatch is the route that serves a path, with its regex captures. */
export interface RouteMatch {
  readonly entry: RouteEntry;
  readonly captures: readonly string[];
  /** addSlash is set when the path is the entry's prefix without its trailing slash: answer 301 to the prefix. */
  readonly addSlash?: boolean;
}

/** ChainBuilder composes a route's chain from the middleware around it and its own units. */
export type ChainBuilder = (middleware: readonly UnitDecl[], route: RouteDecl) => Handle;

/**
 * Router picks the route for a path: an exact route, else the first regex route in file
 * order (nested ones only within their parent's prefix), else a prefix route's prefix
 * without its slash (`/adminer` for `/adminer/`: a redirect, as Nginx makes for such
 * locations), else the longest matching prefix.
 */
export class Router {
  private readonly exact = new Map<string, RouteEntry>();
  private readonly regex: RouteEntry[] = [];
  private readonly prefix: RouteEntry[] = [];
  private readonly slashless = new Map<string, RouteEntry>();

  constructor(readonly entries: readonly RouteEntry[]) {
    for (const e of entries) {
      if (e.matcher.kind === 'exact') this.exact.set(e.matcher.path, e);
      else if (e.matcher.kind === 'regex') this.regex.push(e);
      else {
        this.prefix.push(e);
        const bare = e.matcher.prefix.slice(0, -1);
        if (e.matcher.prefix.endsWith('/') && bare !== '' && e.slashHit && !this.slashless.has(bare)) this.slashless.set(bare, e);
      }
    }
    this.prefix.sort((a, b) => prefixOf(b).length - prefixOf(a).length);
  }

  /** build flattens a server's routes (with inherited middleware) into a Router. */
  static build(routes: readonly RouteDecl[], serverMiddleware: readonly UnitDecl[], chain: ChainBuilder): Router {
    const entries: RouteEntry[] = [];
    const walk = (rs: readonly RouteDecl[], outer: readonly UnitDecl[], mount: string, within: string): void => {
      for (const r of rs) {
        const mw = [...outer, ...r.middleware];
        const own = r.matcher.kind === 'prefix' ? r.matcher.prefix.replace(/\/$/, '') : mount;
        const entry: { -readonly [K in keyof RouteEntry]: RouteEntry[K] } = {
          matcher: r.matcher,
          mount: own,
          within,
          handle: chain(mw, r),
          decl: r,
          middleware: mw,
        };
        entry.hit = Object.freeze({ entry, captures: NO_CAPTURES });
        entry.slashHit = Object.freeze({ entry, captures: NO_CAPTURES, addSlash: true });
        entries.push(entry);
        walk(r.children, mw, own, r.matcher.kind === 'prefix' ? r.matcher.prefix : within);
      }
    };
    walk(routes, serverMiddleware, '', '');
    return new Router(entries);
  }

  /** match returns the route serving `path`, or undefined (404). */
  match(path: string): RouteMatch | undefined {
    const exact = this.exact.size !== 0 ? this.exact.get(path) : undefined;
    if (exact) return exact.hit;
    for (const e of this.regex) {
      if (!path.startsWith(e.within)) continue;
      const m = (e.matcher as { regex: RegExp }).regex.exec(path);
      if (m) return { entry: e, captures: m.slice(1).map((c) => c ?? '') };
    }
    if (this.slashless.size !== 0) {
      const bare = this.slashless.get(path);
      if (bare) return bare.slashHit;
    }
    for (const e of this.prefix) if (path.startsWith(prefixOf(e))) return e.hit;
    return undefined;
  }
}

function prefixOf(e: RouteEntry): string {
  return (e.matcher as { prefix: string }).prefix;
}
