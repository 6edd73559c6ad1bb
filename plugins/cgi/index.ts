import { bind, inject, injectable, LOGGER, type Logger, type Plugin } from '../../core/index.js';
import { CgiUnit } from './handler.js';
import { cgi } from './schema.js';

/**
 * CgiPlugin owns `cgi`: scripts run one process per request (RFC 3875), each in a process
 * group of its own, with a per-worker cap on how many run at once.
 */
@injectable()
export class CgiPlugin implements Plugin {
  readonly name = 'cgi';
  readonly directives = [bind(cgi, (cfg, at) => new CgiUnit(cfg, at, this.log.child({ plugin: this.name })))];

  constructor(@inject(LOGGER) private readonly log: Logger) {}
}
