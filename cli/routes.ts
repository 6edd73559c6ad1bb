import type { DependencyContainer } from 'tsyringe';
import { matcherText, type ServerDecl } from '../core/config.js';
import { loadConfig } from '../core/load.js';
import { routeFor, routerOf } from '../core/route-for.js';
import { EXIT, printDiagnostics, type Io } from './io.js';

function serverTitle(s: ServerDecl): string {
  const names = s.names.length ? s.names.join(' ') : '(default)';
  return `server ${names}  listen ${s.listens.map((l) => l.address.text + (l.tls ? ' tls' : '')).join(', ')}  (${s.span.file}:${s.span.line})`;
}

/**
 * routesCommand prints each server's routing table in precedence order (exact, regex in
 * file order, prefixes longest first), or, given paths, which route serves each.
 */
export async function routesCommand(file: string, paths: readonly string[], host: string | undefined, root: DependencyContainer, io: Io): Promise<number> {
  const loaded = await loadConfig(file, { root });
  if (!loaded.config) {
    printDiagnostics(io, loaded.diagnostics, loaded.sources);
    return EXIT.config;
  }
  const servers = loaded.config.servers;
  if (paths.length) {
    for (const p of paths) {
      const r = routeFor(loaded.config, host, p);
      if (r.redirect !== undefined) io.out(`${p}  →  301 to ${r.route}  (line ${r.line})`);
      else io.out(r.route !== undefined ? `${p}  →  ${r.route.padEnd(20)} ${r.chain}  (line ${r.line})` : `${p}  →  404 (no route)`);
    }
    return EXIT.ok;
  }
  for (const s of servers) {
    io.out(serverTitle(s));
    const { router, chains } = routerOf(s);
    const order = { exact: 0, regex: 1, prefix: 2 };
    const entries = [...router.entries].sort(
      (a, b) =>
        order[a.matcher.kind] - order[b.matcher.kind] ||
        (a.matcher.kind === 'prefix' && b.matcher.kind === 'prefix' ? b.matcher.prefix.length - a.matcher.prefix.length : 0),
    );
    for (const e of entries) {
      const kind = e.matcher.kind.padEnd(6);
      io.out(`    ${kind} ${matcherText(e.matcher).padEnd(28)} ${(chains.get(e.decl) ?? '').padEnd(30)} mount=${e.mount || '/'}  line ${e.decl.span.line}`);
    }
  }
  return EXIT.ok;
}
