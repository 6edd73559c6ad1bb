import { bind, inject, injectable, LOGGER, PROCESS_INFO, type Logger, type MasterContext, type MasterDirective, type MasterPart, type Plugin, type ProcessInfo } from '../../core/index.js';
import { WsgiUnit } from './handler.js';
import { masterPart } from './pool.js';
import { wsgi } from './schema.js';

/**
 * WsgiPlugin owns `wsgi`: Python WSGI applications (PEP 3333) served by preforked Python
 * processes that the master supervises, the role Gunicorn's sync and gthread workers play.
 */
@injectable()
export class WsgiPlugin implements Plugin {
  readonly name = 'wsgi';
  readonly directives = [bind(wsgi, (cfg, at) => new WsgiUnit(cfg, at, this.log.child({ plugin: this.name }), this.proc))];

  constructor(@inject(LOGGER) private readonly log: Logger, @inject(PROCESS_INFO) private readonly proc: ProcessInfo) {}

  master(directives: readonly MasterDirective[], ctx: MasterContext): MasterPart {
    return masterPart(directives, ctx);
  }
}
