import type { GateConfig, RouteDecl, UnitDecl } from './config.js';
import { GateError } from './errors.js';
import type { AnyUnit, ListenPlace, Plugin, UnitPlace } from './plugin.js';

/** allUnits lists every plugin directive occurrence in a config, in file order per server. */
export function allUnits(config: GateConfig): UnitDecl[] {
  const out: UnitDecl[] = [...config.globalUnits];
  const walk = (rs: readonly RouteDecl[]): void => {
    for (const r of rs) {
      out.push(...r.middleware);
      if (r.handler) out.push(r.handler);
      walk(r.children);
    }
  };
  for (const s of config.servers) {
    out.push(...s.units, ...s.middleware);
    walk(s.routes);
  }
  return out;
}

/** placeOf tells a plugin where a directive occurrence sits, and what the config listens on. */
export function placeOf(u: UnitDecl, config: GateConfig): UnitPlace {
  const listens = listensOf(config);
  const store = config.global.store !== undefined;
  return u.server ? { server: u.server, listens, store } : { listens, store };
}

const LISTENS = new WeakMap<GateConfig, readonly ListenPlace[]>();

/** listensOf lists every `listen` of a config with its server's names (made once per config). */
function listensOf(config: GateConfig): readonly ListenPlace[] {
  let out = LISTENS.get(config);
  if (!out) LISTENS.set(config, (out = config.servers.flatMap((s) => s.listens.map((l) => ({ address: l.address, tls: l.tls, names: s.names })))));
  return out;
}

/**
 * makeUnit makes the unit of one directive occurrence with plugin `p` (the decl's plugin, or
 * its twin in a worker's container): through the directive's bound factory, else the plugin's
 * create(). A unit that lacks what its kind needs is a GateError, for plain-JavaScript plugins
 * that no type checker saw.
 */
export function makeUnit(p: Plugin, d: UnitDecl, config: GateConfig): AnyUnit {
  const spec = p.directives.find((s) => s.name === d.directive);
  const place = placeOf(d, config);
  const made = spec?.create ? spec.create(d.config as never, d.span, place) : p.create?.(d.directive, d.config, d.span, place);
  if (!made || typeof made !== 'object') throw new GateError('GK_PLUGIN_INVALID', `plugin '${p.name}' made no unit for '${d.directive}'`);
  const unit: AnyUnit = made;
  if ((d.kind === 'handler' || d.kind === 'middleware') && typeof unit.handle !== 'function') {
    throw new GateError('GK_PLUGIN_INVALID', `the ${d.kind} unit plugin '${p.name}' made for '${d.directive}' has no handle()`);
  }
  if (d.kind === 'certificate' && typeof unit.tls !== 'function') {
    throw new GateError('GK_PLUGIN_INVALID', `the certificate unit plugin '${p.name}' made for '${d.directive}' has no tls()`);
  }
  return unit;
}
