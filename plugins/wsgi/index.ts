import { inject, injectable, LOGGER, PROCESS_INFO, type Logger, type MasterContext, type MasterDirective, type MasterPart, type Plugin, type ProcessInfo, type Span, type Unit } from '../../core/index.js';
import { WsgiUnit } from './handler.js';
import { masterPart } from './pool.js';
import { wsgi, type WsgiConfig } from './schema.js';

/**
 * WsgiPlugin owns `wsgi`: Python WSGI applications (PEP 3333) served by preforked Python
 * processes that the master supervises, the role Gunicorn's sync and gthread workers play.
 */
@injectable()
export class WsgiPlugin implements Plugin {
  readonly name = 'wsgi';
  readonly directives = [wsgi];

  constructor(@inject(LOGGER) private readonly log: Logger, @inject(PROCESS_INFO) private readonly proc: ProcessInfo) {}

  create(_directive: string, config: unknown, at: Span): Unit {
    return new WsgiUnit(config as WsgiConfig, at, this.log.child({ plugin: this.name }), this.proc);
  }

  master(directives: readonly MasterDirective[], ctx: MasterContext): MasterPart {
    return masterPart(directives, ctx);
  }
}
