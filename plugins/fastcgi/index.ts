import { inject, injectable, LOGGER, type Logger, type Plugin, type Span, type Unit } from '../../core/index.js';
import { FastcgiUnit } from './handler.js';
import { fastcgi, type FastcgiConfig } from './schema.js';

/**
 * FastcgiPlugin owns `fastcgi`: a FastCGI 1.0 client (responder role, no multiplexing) for
 * PHP-FPM and the like, with connections kept for reuse per worker (FCGI_KEEP_CONN).
 */
@injectable()
export class FastcgiPlugin implements Plugin {
  readonly name = 'fastcgi';
  readonly directives = [fastcgi];

  constructor(@inject(LOGGER) private readonly log: Logger) {}

  create(_directive: string, config: unknown, at: Span): Unit {
    return new FastcgiUnit(config as FastcgiConfig, at, this.log.child({ plugin: this.name }));
  }
}
