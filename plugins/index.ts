import type { DependencyContainer } from 'tsyringe';
import { registerPlugin } from '../core/container.js';
import type { PluginClass } from '../core/index.js';
import { RespondPlugin } from './respond/index.js';

/** builtins is the one list of built-in plugins. */
export const builtins: readonly PluginClass[] = [RespondPlugin];

/** registerBuiltins registers every built-in plugin in a root container, as third-party ones are. */
export function registerBuiltins(c: DependencyContainer): void {
  for (const P of builtins) registerPlugin(c, P);
}
