import type { GateConfig, RouteDecl, UnitDecl } from './config.js';
import type { ListenPlace, UnitPlace } from './plugin.js';

/** allUnits lists every plugin directive occurrence in a config, in file order per server. */
export function allUnits(config: GateConfig): UnitDecl[] {
  const out: UnitDecl[] = [...config.globalUnits];
  const walk = (rs: readonly RouteDecl[]): void => {
    for (const r of rs) { out.push(...r.middleware); if (r.handler) out.push(r.handler); walk(r.children); }
  };
  for (const s of config.servers) { out.push(...s.units, ...s.middleware); walk(s.routes); }
  return out;
}

/** placeOf tells a plugin where a directive occurrence sits, and what the config listens on. */
export function placeOf(u: UnitDecl, config: GateConfig): UnitPlace {
  const listens = listensOf(config);
  return u.server ? { server: u.server, listens } : { listens };
}

const LISTENS = new WeakMap<GateConfig, readonly ListenPlace[]>();

/** listensOf lists every `listen` of a config with its server's names (made once per config). */
function listensOf(config: GateConfig): readonly ListenPlace[] {
  let out = LISTENS.get(config);
  if (!out) LISTENS.set(config, (out = config.servers.flatMap((s) => s.listens.map((l) => ({ address: l.address, tls: l.tls, names: s.names })))));
  return out;
}
