import { bind, inject, injectable, LOGGER, type Logger, type Plugin } from '../../core/index.js';
import { AppUnit } from './handler.js';
import { AppModules } from './modules.js';
import { app } from './schema.js';

/**
 * AppPlugin owns `app`: a Node application (request listener or fetch handler) loaded once
 * per worker. The plugin instance lives as long as one worker's config generation, so it
 * holds the loaded modules and runs their close hooks when it closes.
 */
@injectable()
export class AppPlugin implements Plugin {
  readonly name = 'app';
  readonly directives = [bind(app, (cfg, at) => new AppUnit(cfg, at, this.log.child({ plugin: this.name }), this.modules))];
  private readonly modules = new AppModules();

  constructor(@inject(LOGGER) private readonly log: Logger) {}

  async close(): Promise<void> {
    for (const e of await this.modules.close()) this.log.error('app close hook failed', { plugin: this.name, error: e.message });
  }
}
