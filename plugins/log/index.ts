import { bind, inject, injectable, LOGGER, type Logger, type Plugin } from '../../core/index.js';
import { LOG_VARIABLES } from './format.js';
import { LogUnit } from './handler.js';
import { log } from './schema.js';

/** LogPlugin owns `log`: the access log (the error log is the kernel's `error_log`). */
@injectable()
export class LogPlugin implements Plugin {
  readonly name = 'log';
  readonly directives = [bind(log, (cfg, at) => new LogUnit(cfg, at, this.log))];
  readonly variables = LOG_VARIABLES;
  private readonly log: Logger;

  constructor(@inject(LOGGER) logger: Logger) {
    this.log = logger.child({ plugin: this.name });
  }
}
