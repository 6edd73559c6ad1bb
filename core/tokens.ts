// Injection tokens. They are registered symbols (Symbol.for) so that a third-party plugin
// holding its own copy of gatekit still names the same services.

/** LOGGER injects the worker's Logger (see logger.ts). */
export const LOGGER = Symbol.for('gatekit.logger');
/** PROCESS_INFO injects ProcessInfo: pid, worker id, generation. */
export const PROCESS_INFO = Symbol.for('gatekit.process');
/** PLUGIN is the multi-binding every plugin class is registered under. */
export const PLUGIN = Symbol.for('gatekit.plugin');
