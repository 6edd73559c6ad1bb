import { inject, injectable, LOGGER, type Logger, type Plugin, type Span, type Unit } from '../../core/index.js';
import { CgiUnit } from './handler.js';
import { cgi, type CgiConfig } from './schema.js';

/**
 * CgiPlugin owns `cgi`: scripts run one process per request (RFC 3875), each in a process
 * group of its own, with a per-worker cap on how many run at once.
 */
@injectable()
export class CgiPlugin implements Plugin {
  readonly name = 'cgi';
  readonly directives = [cgi];

  constructor(@inject(LOGGER) private readonly log: Logger) {}

  create(_directive: string, config: unknown, at: Span): Unit {
    return new CgiUnit(config as CgiConfig, at, this.log.child({ plugin: this.name }));
  }
}
