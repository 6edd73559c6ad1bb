import type { DependencyContainer } from 'tsyringe';
import { matcherText, type RouteDecl, type ServerDecl, type UnitDecl } from '../core/config.js';
import { loadConfig } from '../core/load.js';
import { Router } from '../core/router.js';
import { hostOf, VirtualHosts } from '../core/vhosts.js';
import { EXIT, printDiagnostics, type Io } from './io.js';

const chainText = (mw: readonly UnitDecl[], r: RouteDecl): string =>
  [...mw.map((u) => u.directive), r.handler ? r.handler.directive : '404'].join(' → ');

function serverTitle(s: ServerDecl): string {
  const names = s.names.length ? s.names.join(' ') : '(default)';
  return `server ${names}  listen ${s.listens.map((l) => l.address.text + (l.tls ? ' tls' : '')).join(', ')}  (${s.span.file}:${s.span.line})`;
}

function routerOf(s: ServerDecl): { router: Router; chains: Map<RouteDecl, string> } {
  const chains = new Map<RouteDecl, string>();
  const router = Router.build(s.routes, s.middleware, (mw, r) => { chains.set(r, chainText(mw, r)); return () => Promise.resolve(); });
  return { router, chains };
}

/**
 * routesCommand prints each server's routing table in precedence order (exact, regex in
 * file order, prefixes longest first), or, given paths, which route serves each.
 */
export async function routesCommand(file: string, paths: readonly string[], host: string | undefined, root: DependencyContainer, io: Io): Promise<number> {
  const loaded = await loadConfig(file, { root });
  if (!loaded.config) { printDiagnostics(io, loaded.diagnostics, loaded.sources); return EXIT.config; }
  const servers = loaded.config.servers;
  if (paths.length) {
    const hosts = new VirtualHosts<ServerDecl>();
    for (const s of servers) hosts.add(s.names, s);
    const s = hosts.pick(hostOf(host));
    const { router, chains } = routerOf(s);
    for (const p of paths) {
      const m = router.match(p);
      if (m?.addSlash) io.out(`${p}  →  301 to ${matcherText(m.entry.matcher)}  (line ${m.entry.decl.span.line})`);
      else io.out(m ? `${p}  →  ${matcherText(m.entry.matcher).padEnd(20)} ${chains.get(m.entry.decl)}  (line ${m.entry.decl.span.line})` : `${p}  →  404 (no route)`);
    }
    return EXIT.ok;
  }
  for (const s of servers) {
    io.out(serverTitle(s));
    const { router, chains } = routerOf(s);
    const order = { exact: 0, regex: 1, prefix: 2 };
    const entries = [...router.entries].sort((a, b) => order[a.matcher.kind] - order[b.matcher.kind]
      || (a.matcher.kind === 'prefix' && b.matcher.kind === 'prefix' ? b.matcher.prefix.length - a.matcher.prefix.length : 0));
    for (const e of entries) {
      const kind = e.matcher.kind.padEnd(6);
      io.out(`    ${kind} ${matcherText(e.matcher).padEnd(28)} ${(chains.get(e.decl) ?? '').padEnd(30)} mount=${e.mount || '/'}  line ${e.decl.span.line}`);
    }
  }
  return EXIT.ok;
}
