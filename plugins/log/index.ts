import { inject, injectable, LOGGER, type Logger, type Plugin, type Span, type Unit } from '../../core/index.js';
import { LOG_VARIABLES } from './format.js';
import { LogUnit } from './handler.js';
import { log, type LogConfig } from './schema.js';

/** LogPlugin owns `log`: the access log (the error log is the kernel's `error_log`). */
@injectable()
export class LogPlugin implements Plugin {
  readonly name = 'log';
  readonly directives = [log];
  readonly variables = LOG_VARIABLES;
  private readonly log: Logger;

  constructor(@inject(LOGGER) logger: Logger) {
    this.log = logger.child({ plugin: this.name });
  }

  create(_directive: string, config: unknown, at: Span): Unit {
    return new LogUnit(config as LogConfig, at, this.log);
  }
}
