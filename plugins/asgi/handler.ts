import type { Ctx, Logger, ProcessInfo, Span } from '../../core/index.js';
import { PythonAppUnit, type PythonApp } from '../../lib/index.js';
import type { AsgiConfig } from './schema.js';
import { headPayload } from './scope.js';
import { isWebSocket, notAvailable, WebSockets } from './websocket.js';

/**
 * ASGI is how `asgi` speaks to its pool: requests as ASGI scopes. An event loop serves many
 * at once, so one past its timeout is abandoned (the app gets http.disconnect), not its worker.
 */
const ASGI: PythonApp = {
  kind: 'asgi',
  killOnTimeout: false,
  examples: 'asgi main:app or asgi mysite.asgi:application',
  head: (ctx, length) => headPayload(ctx, false, length),
};

/**
 * AsgiUnit is an `asgi` route in one Node worker: the Python application unit, whose links
 * (one per Python worker, each request or WebSocket a stream over the least loaded one) also
 * carry WebSockets.
 */
export class AsgiUnit extends PythonAppUnit {
  private sockets: WebSockets | undefined;
  readonly upgrades = ['websocket'];

  constructor(
    cfg: AsgiConfig,
    at: Span,
    private readonly log: Logger,
    proc: ProcessInfo,
  ) {
    super(ASGI, cfg, at, log, proc);
  }

  override async provision(): Promise<void> {
    await super.provision();
    this.sockets = new WebSockets(this.links!, this.spec.timeout, this.log);
  }

  override handle(ctx: Ctx): Promise<void> {
    if (ctx.upgrade) return isWebSocket(ctx) ? this.sockets!.serve(ctx) : Promise.reject(notAvailable());
    return super.handle(ctx);
  }

  override async close(): Promise<void> {
    await super.close();
    this.sockets?.close();
  }
}
