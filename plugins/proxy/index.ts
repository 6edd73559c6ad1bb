import { bind, inject, injectable, LOGGER, type Logger, type Plugin } from '../../core/index.js';
import { ProxyUnit } from './handler.js';
import { proxy } from './schema.js';

/** ProxyPlugin owns `proxy`: a reverse proxy with load balancing, health checks, retries and WebSockets. */
@injectable()
export class ProxyPlugin implements Plugin {
  readonly name = 'proxy';
  readonly directives = [bind(proxy, (cfg, at) => new ProxyUnit(cfg, at, this.log))];
  readonly variables = [
    { name: 'upstream', doc: 'the upstream that served the request (host:port or unix:/path), set by proxy' },
    { name: 'upstream_status', doc: 'the status the upstream answered, set by proxy' },
  ];
  private readonly log: Logger;

  constructor(@inject(LOGGER) log: Logger) {
    this.log = log.child({ plugin: this.name });
  }
}
