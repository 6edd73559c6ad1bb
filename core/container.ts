import { inject, injectable, Lifecycle, type DependencyContainer } from 'tsyringe';
import type { GateConfig } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Plugin, PluginClass } from './plugin.js';
import { CONFIG, LOGGER, METRICS, PLUGIN, PROCESS_INFO, ROUTER, STORE } from './tokens.js';
import { RedisStore } from './store/shared-store.js';
import { LateDispatcher, type Dispatcher } from './dispatcher.js';
import { silentLogger } from './logger.js';
import { MemoryMetrics } from './metrics.js';

/** ProcessInfo says which process a plugin runs in. */
export interface ProcessInfo {
  readonly pid: number;
  /** role is 'single' (workers 0), 'master' or 'worker'. */
  readonly role: 'single' | 'master' | 'worker';
  /** workerId numbers workers from 1 (0 in single and master). */
  readonly workerId: number;
  /** generation counts reloads, from 1. */
  readonly generation: number;
}

/** ConfigService gives plugins the loaded configuration. */
export interface ConfigService {
  readonly config: GateConfig;
}

/** Services are what the kernel injects into plugins. */
export interface Services {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly config: ConfigService;
  readonly process: ProcessInfo;
  readonly router: Dispatcher;
}

/**
 * registerPlugin registers a plugin class under PLUGIN, one instance per child container.
 * A plain-JS plugin without decorators lists its tokens in `static inject = [LOGGER, ...]`.
 */
export function registerPlugin(c: DependencyContainer, P: PluginClass): void {
  if (Array.isArray(P.inject)) {
    // Tokens first: injectable() reads them when it records the constructor's parameters.
    P.inject.forEach((token, i) => inject(token)(P as never, undefined as never, i));
    injectable()(P as never);
  }
  c.register(PLUGIN, { useClass: P as never }, { lifecycle: Lifecycle.ContainerScoped });
}

/** workerContainer makes the child container a worker (or a check) resolves plugins from. */
export function workerContainer(scope: DependencyContainer, s: Services): DependencyContainer {
  const c = scope.createChildContainer();
  c.register(LOGGER, { useValue: s.logger });
  c.register(METRICS, { useValue: s.metrics });
  c.register(CONFIG, { useValue: s.config });
  c.register(PROCESS_INFO, { useValue: s.process });
  c.register(ROUTER, { useValue: s.router });
  // read when a feature first asks: `check` has no config, and most sites no store
  c.register(STORE, { useValue: new RedisStore(() => s.config.config.global.store, s.logger.child({ part: 'store' })) });
  return c;
}

/** resolvePlugins builds every registered plugin in a container. */
export function resolvePlugins(c: DependencyContainer): Plugin[] {
  return c.isRegistered(PLUGIN, true) ? c.resolveAll<Plugin>(PLUGIN) : [];
}

/** schemaContainer builds plugins only to read their schemas and validate units: no config, no logging. */
export function schemaContainer(scope: DependencyContainer): DependencyContainer {
  const config: ConfigService = { get config(): GateConfig { throw new Error('config is not loaded yet'); } };
  return workerContainer(scope, {
    logger: silentLogger, metrics: new MemoryMetrics(), config,
    process: { pid: process.pid, role: 'single', workerId: 0, generation: 0 }, router: new LateDispatcher(),
  });
}
