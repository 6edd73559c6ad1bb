import { inject, injectable, LOGGER, PROCESS_INFO, type Logger, type MasterContext, type MasterDirective, type MasterPart, type Plugin, type ProcessInfo, type Span, type Unit } from '../../core/index.js';
import { AsgiUnit } from './handler.js';
import { masterPart } from './pool.js';
import { asgi, type AsgiConfig } from './schema.js';

/**
 * AsgiPlugin owns `asgi`: Python ASGI 3.0 applications (HTTP, WebSocket, lifespan; Starlette,
 * FastAPI, Django's asgi.py) served by preforked asyncio Python processes that the master
 * supervises, the role Uvicorn plays. The pool is the kernel's PythonPool, as for `wsgi`.
 */
@injectable()
export class AsgiPlugin implements Plugin {
  readonly name = 'asgi';
  readonly directives = [asgi];

  constructor(@inject(LOGGER) private readonly log: Logger, @inject(PROCESS_INFO) private readonly proc: ProcessInfo) {}

  create(_directive: string, config: unknown, at: Span): Unit {
    return new AsgiUnit(config as AsgiConfig, at, this.log.child({ plugin: this.name }), this.proc);
  }

  master(directives: readonly MasterDirective[], ctx: MasterContext): MasterPart {
    return masterPart(directives, ctx);
  }
}
