import { bind, inject, injectable, LOGGER, PROCESS_INFO, type Logger, type MasterContext, type MasterDirective, type MasterPart, type Plugin, type ProcessInfo } from '../../core/index.js';
import { AsgiUnit } from './handler.js';
import { masterPart } from './pool.js';
import { asgi } from './schema.js';

/**
 * AsgiPlugin owns `asgi`: Python ASGI 3.0 applications (HTTP, WebSocket, lifespan; Starlette,
 * FastAPI, Django's asgi.py) served by preforked asyncio Python processes that the master
 * supervises, the role Uvicorn plays. The pool is the kernel's PythonPool, as for `wsgi`.
 */
@injectable()
export class AsgiPlugin implements Plugin {
  readonly name = 'asgi';
  readonly directives = [bind(asgi, (cfg, at) => new AsgiUnit(cfg, at, this.log.child({ plugin: this.name }), this.proc))];

  constructor(@inject(LOGGER) private readonly log: Logger, @inject(PROCESS_INFO) private readonly proc: ProcessInfo) {}

  master(directives: readonly MasterDirective[], ctx: MasterContext): MasterPart {
    return masterPart(directives, ctx);
  }
}
