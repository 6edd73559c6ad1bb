import { bind, inject, injectable, LOGGER, type Logger, type Plugin } from '../../core/index.js';
import { FastcgiUnit } from './handler.js';
import { fastcgi } from './schema.js';

/**
 * FastcgiPlugin owns `fastcgi`: a FastCGI 1.0 client (responder role, no multiplexing) for
 * PHP-FPM and the like, with connections kept for reuse per worker (FCGI_KEEP_CONN).
 */
@injectable()
export class FastcgiPlugin implements Plugin {
  readonly name = 'fastcgi';
  readonly directives = [bind(fastcgi, (cfg, at) => new FastcgiUnit(cfg, at, this.log.child({ plugin: this.name })))];

  constructor(@inject(LOGGER) private readonly log: Logger) {}
}
