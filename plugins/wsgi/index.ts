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
import { poolRunDir, PythonAppPlugin, PythonAppUnit, PythonPool } from '../../lib/index.js';
import { WSGI } from './environ.js';
import { wsgi, type WsgiConfig } from './schema.js';
import { PYTHON_MODULE, poolSettings } from './settings.js';

/**
 * WsgiPlugin owns `wsgi`: Python WSGI applications (PEP 3333) served by preforked Python
 * processes that the master supervises, the role Gunicorn's sync and gthread workers play.
 * Each Node worker sends a request over one link per Python worker, at most `threads` at once
 * per link, so that no request waits in Python behind another of this Node worker's.
 */
@injectable()
export class WsgiPlugin extends PythonAppPlugin<WsgiConfig> {
  readonly name = 'wsgi';
  readonly directives = [bind(wsgi, (cfg, at) => this.unit(cfg, at))];

  constructor(@inject(LOGGER) log: Logger, @inject(PROCESS_INFO) proc: ProcessInfo) {
    super(log, proc);
  }

  protected unit(cfg: WsgiConfig, at: Span): HandlerUnit {
    return new PythonAppUnit(WSGI, cfg, at, this.log.child({ plugin: this.name }), this.proc);
  }

  /** pool runs gatekit_wsgi.py workers with `threads` threads each. */
  protected pool(cfg: WsgiConfig, at: Span, ctx: MasterContext): PythonPool {
    const s = poolSettings(cfg, at);
    return new PythonPool(
      {
        kind: 'wsgi',
        module: PYTHON_MODULE,
        dir: poolRunDir('wsgi', cfg, at, ctx.runDir),
        settings: s,
        readyFields: { threads: s.threads },
        args: [s.app, String(s.threads), String(s.maxRequests), String(s.workers)],
      },
      at,
      ctx,
    );
  }
}
