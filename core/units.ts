import type { GateConfig, RouteDecl, UnitDecl } from './config.js';
import type { UnitPlace } from './plugin.js';

/** allUnits lists every plugin directive occurrence in a config, in file order per server. */
export function allUnits(config: GateConfig): UnitDecl[] {
  const out: UnitDecl[] = [...config.globalUnits];
  const walk = (rs: readonly RouteDecl[]): void => {
    for (const r of rs) { out.push(...r.middleware); if (r.handler) out.push(r.handler); walk(r.children); }
  };
  for (const s of config.servers) { out.push(...s.units, ...s.middleware); walk(s.routes); }
  return out;
}

/** placeOf tells a plugin where a directive occurrence sits. */
export function placeOf(u: UnitDecl): UnitPlace {
  return u.server ? { server: u.server } : {};
}
