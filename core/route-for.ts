import { matcherText, type GateConfig, type RouteDecl, type ServerDecl, type UnitDecl } from './config.js';
import { Router } from './router.js';
import { hostOf, VirtualHosts } from './vhosts.js';

/** RouteAnswer says which server, route and handler would serve a request (`gatekit routes`, admin /routes). */
export interface RouteAnswer {
  /** server names the server block: its hostnames ('' for a default server), addresses and line. */
  readonly server: { readonly names: readonly string[]; readonly listen: readonly string[]; readonly file: string; readonly line: number };
  /** route is the route as written; undefined when none matches (404). */
  readonly route?: string;
  /** handler is the route's handler directive; chain is its middleware then handler. */
  readonly handler?: string;
  readonly chain: string;
  readonly line?: number;
  /** redirect is set when the path is a prefix route's prefix without its slash: a 301 there. */
  readonly redirect?: string;
}

/** chainText is a route's middleware and handler, outer first (404 for a route with none). */
export function chainText(mw: readonly UnitDecl[], r: RouteDecl): string {
  return [...mw.map((u) => u.directive), r.handler ? r.handler.directive : '404'].join(' → ');
}

/** routerOf builds a server's router with no chains, and the chain text of each route. */
export function routerOf(s: ServerDecl): { router: Router; chains: Map<RouteDecl, string> } {
  const chains = new Map<RouteDecl, string>();
  const router = Router.build(s.routes, s.middleware, (mw, r) => {
    chains.set(r, chainText(mw, r));
    return () => Promise.resolve();
  });
  return { router, chains };
}

/** serverFor picks the server a Host names among a config's servers (the default one when none does). */
export function serverFor(config: GateConfig, host: string | undefined): ServerDecl {
  const hosts = new VirtualHosts<ServerDecl>();
  for (const s of config.servers) hosts.add(s.names, s);
  return hosts.pick(hostOf(host));
}

/** routeFor says which server, route and handler would serve `path` on `host`. */
export function routeFor(config: GateConfig, host: string | undefined, path: string): RouteAnswer {
  const s = serverFor(config, host);
  const server = { names: s.names, listen: s.listens.map((l) => l.address.text + (l.tls ? ' tls' : '')), file: s.span.file, line: s.span.line };
  const { router, chains } = routerOf(s);
  const m = router.match(path);
  if (!m) return { server, chain: '404' };
  const route = matcherText(m.entry.matcher);
  if (m.addSlash) return { server, route, chain: '301', line: m.entry.decl.span.line, redirect: `${path}/` };
  const handler = m.entry.decl.handler?.directive;
  return { server, route, ...(handler === undefined ? {} : { handler }), chain: chains.get(m.entry.decl) ?? '', line: m.entry.decl.span.line };
}
