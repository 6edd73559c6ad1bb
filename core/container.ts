import { inject, injectable, Lifecycle, type DependencyContainer } from 'tsyringe';
import type { Logger } from './logger.js';
import type { Plugin, PluginClass } from './plugin.js';
import { LOGGER, PLUGIN, PROCESS_INFO, STORE } from './tokens.js';
import { RedisStore, type StoreSettings } from './store/shared-store.js';
import { silentLogger } from './logger.js';

/** ProcessInfo says which process a plugin runs in. */
export interface ProcessInfo {
  readonly pid: number;
  /** role is 'single' (workers 0), 'master' or 'worker'. */
  readonly role: 'single' | 'master' | 'worker';
  /** workerId numbers workers from 1 (0 in single and master). */
  readonly workerId: number;
  /** generation counts reloads, from 1. */
  readonly generation: number;
  /**
   * runDir is the generation's private folder (mode 0700), the same path in the master and
   * its workers, made before the plugins' master parts start and removed with the
   * generation: the place for the sockets and files they share (a pool's sockets).
   */
  readonly runDir: string;
}

/** Services are what the kernel injects into plugins. */
export interface Services {
  readonly logger: Logger;
  readonly process: ProcessInfo;
  /** store is `global { store }`, when the config has one (a check has none). */
  readonly store?: StoreSettings | undefined;
}

/**
 * registerPlugin registers a plugin class under PLUGIN, one instance per child container.
 * A plain-JS plugin without decorators lists its tokens in `static inject = [LOGGER, ...]`.
 */
export function registerPlugin(c: DependencyContainer, P: PluginClass): void {
  injectable_(P);
  c.register(PLUGIN, { useClass: P as never }, { lifecycle: Lifecycle.ContainerScoped });
}

/** pluginForSchema builds one plugin class in a schema container, to read its declaration before it is registered. */
export function pluginForSchema(scope: DependencyContainer, P: PluginClass): unknown {
  injectable_(P);
  return schemaContainer(scope).resolve(P as never);
}

/**
 * injectable_ makes a plugin class injectable in gatekit's own tsyringe: a plain-JS class from
 * its `static inject` tokens; a decorated class from the metadata its decorators left. A
 * plugin package with its own copy of tsyringe (gatekit copied, not linked, into its
 * node_modules) registered it with that copy only; the metadata lives in the one global
 * Reflect registry and the tokens are Symbol.for keys, so gatekit's copy can read them again.
 */
function injectable_(P: PluginClass): void {
  // Tokens first: injectable() reads them when it records the constructor's parameters.
  if (Array.isArray(P.inject)) P.inject.forEach((token, i) => inject(token)(P as never, undefined as never, i));
  else if (paramTypes(P) === undefined) return; // neither: tsyringe names the class it cannot build
  injectable()(P as never);
}

/** paramTypes reads the constructor parameter types tsc recorded (emitDecoratorMetadata), through reflect-metadata's global Reflect. */
function paramTypes(P: PluginClass): unknown {
  return (Reflect as { getMetadata?: (key: string, target: object) => unknown }).getMetadata?.('design:paramtypes', P);
}

/** workerContainer makes the child container a worker (or a check) resolves plugins from. */
export function workerContainer(scope: DependencyContainer, s: Services): DependencyContainer {
  const c = scope.createChildContainer();
  c.register(LOGGER, { useValue: s.logger });
  c.register(PROCESS_INFO, { useValue: s.process });
  // read when a feature first asks: `check` has no config, and most sites no store
  c.register(STORE, { useValue: new RedisStore(() => s.store, s.logger.child({ part: 'store' })) });
  return c;
}

/** resolvePlugins builds every registered plugin in a container. */
export function resolvePlugins(c: DependencyContainer): Plugin[] {
  return c.isRegistered(PLUGIN, true) ? c.resolveAll<Plugin>(PLUGIN) : [];
}

/** schemaContainer builds plugins only to read their schemas and validate units: no config, no logging. */
export function schemaContainer(scope: DependencyContainer): DependencyContainer {
  return workerContainer(scope, {
    logger: silentLogger,
    process: {
      pid: process.pid,
      role: 'single',
      workerId: 0,
      generation: 0,
      get runDir(): string {
        throw new Error('no run folder: the config is only checked');
      },
    },
  });
}
