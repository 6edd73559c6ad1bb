import { resolvePlugins, workerContainer } from '../container.js';
import { LateDispatcher } from '../dispatcher.js';
import type { Loaded } from '../load.js';
import type { Logger } from '../logger.js';
import { MemoryMetrics } from '../metrics.js';
import type { MasterDirective, Plugin } from '../plugin.js';
import { allUnits, placeOf } from '../units.js';

/** MasterPlugins are a config's plugins as the master builds them, with each one's directives. */
export interface MasterPlugins {
  readonly plugins: readonly Plugin[];
  /** directives holds each plugin's directive occurrences under its name. */
  readonly directives: ReadonlyMap<string, readonly MasterDirective[]>;
}

/** masterPlugins builds a config's plugins for the master's side (master parts, resident parts) and groups its directives by plugin. */
export function masterPlugins(loaded: Loaded, log: Logger, role: 'single' | 'master', generation: number): MasterPlugins {
  const config = loaded.config!;
  const directives = new Map<string, MasterDirective[]>();
  for (const u of allUnits(config)) {
    const list = directives.get(u.plugin.name) ?? [];
    list.push({ directive: u.directive, config: u.config, at: u.span, place: placeOf(u) });
    directives.set(u.plugin.name, list);
  }
  const plugins = resolvePlugins(workerContainer(loaded.scope, {
    logger: log, metrics: new MemoryMetrics(), config: { config },
    process: { pid: process.pid, role, workerId: 0, generation }, router: new LateDispatcher(),
  }));
  return { plugins, directives };
}
