import {
  bind,
  inject,
  injectable,
  LOGGER,
  PROCESS_INFO,
  type HandlerUnit,
  type Logger,
  type MasterContext,
  type ProcessInfo,
  type Span,
} from '../../core/index.js';
import { poolRunDir, PythonAppPlugin, PythonPool, pythonPoolSettings } from '../../lib/index.js';
import { AsgiUnit } from './handler.js';
import { asgi, type AsgiConfig } from './schema.js';
import { PYTHON_MODULE } from './settings.js';

/**
 * AsgiPlugin owns `asgi`: Python ASGI 3.0 applications (HTTP, WebSocket, lifespan; Starlette,
 * FastAPI, Django's asgi.py) served by preforked asyncio Python processes that the master
 * supervises, the role Uvicorn plays. The pool is lib's PythonPool, as for `wsgi`.
 */
@injectable()
export class AsgiPlugin extends PythonAppPlugin<AsgiConfig> {
  readonly name = 'asgi';
  readonly directives = [bind(asgi, (cfg, at) => this.unit(cfg, at))];

  constructor(@inject(LOGGER) log: Logger, @inject(PROCESS_INFO) proc: ProcessInfo) {
    super(log, proc);
  }

  protected unit(cfg: AsgiConfig, at: Span): HandlerUnit {
    return new AsgiUnit(cfg, at, this.log.child({ plugin: this.name }), this.proc);
  }

  /**
   * pool runs gatekit_asgi.py workers. A worker runs the lifespan startup before it joins the
   * pool, so the pool starts once the application has; a failed startup fails the boot (or the
   * reload) with the application's message. Stopping a worker runs the lifespan shutdown.
   */
  protected pool(cfg: AsgiConfig, at: Span, ctx: MasterContext): PythonPool {
    const s = pythonPoolSettings(cfg, at);
    return new PythonPool(
      {
        kind: 'asgi',
        module: PYTHON_MODULE,
        dir: poolRunDir('asgi', cfg, at, ctx.runDir),
        settings: s,
        args: [s.app, String(s.maxRequests), String(s.timeout)],
      },
      at,
      ctx,
    );
  }
}
