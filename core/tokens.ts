// Injection tokens. They are registered symbols (Symbol.for) so that a third-party plugin
// holding its own copy of gatekit still names the same services.

/** LOGGER injects the worker's Logger (see logger.ts). */
export const LOGGER = Symbol.for('gatekit.logger');
/** METRICS injects the worker's Metrics registry (see metrics.ts). */
export const METRICS = Symbol.for('gatekit.metrics');
/** CONFIG injects the ConfigService: the loaded, checked configuration. */
export const CONFIG = Symbol.for('gatekit.config');
/** PROCESS_INFO injects ProcessInfo: pid, worker id, generation. */
export const PROCESS_INFO = Symbol.for('gatekit.process');
/** ROUTER injects the Dispatcher: re-dispatch a request to another path (internal redirects). */
export const ROUTER = Symbol.for('gatekit.router');
/** PLUGIN is the multi-binding every plugin class is registered under. */
export const PLUGIN = Symbol.for('gatekit.plugin');
/** STORE injects the SharedStore: the connection to `global { store }`, shared by the features that opt in. */
export const STORE = Symbol.for('gatekit.store');
