import { resolvePlugins, workerContainer, type ProcessInfo } from '../container.js';
import type { Loaded } from '../load.js';
import type { Logger } from '../logger.js';
import type { MasterDirective, Plugin } from '../plugin.js';
import { allUnits, placeOf } from '../units.js';

/** MasterPlugins are a config's plugins as the master builds them, with each one's directives. */
export interface MasterPlugins {
  readonly plugins: readonly Plugin[];
  /** directives holds each plugin's directive occurrences under its name. */
  readonly directives: ReadonlyMap<string, readonly MasterDirective[]>;
}

/** masterPlugins builds a config's plugins for the master's side (master parts, resident parts), in process `proc`, and groups its directives by plugin. */
export function masterPlugins(loaded: Loaded, log: Logger, proc: ProcessInfo): MasterPlugins {
  const config = loaded.config!;
  const directives = new Map<string, MasterDirective[]>();
  for (const u of allUnits(config)) {
    const list = directives.get(u.plugin.name) ?? [];
    list.push({ directive: u.directive, config: u.config, at: u.span, place: placeOf(u, config) });
    directives.set(u.plugin.name, list);
  }
  const plugins = resolvePlugins(workerContainer(loaded.scope, { logger: log, process: proc, store: config.global.store }));
  return { plugins, directives };
}
