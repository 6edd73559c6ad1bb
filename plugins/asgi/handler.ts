import {
  bodyBuffering, bufferBody, diagnostic, HttpExchange, POOL_QUEUE_WAIT, PoolLinks, PYTHON_APP_SPEC, pythonPoolSettings, spanOf,
  type BodyBuffering, type Ctx, type Diagnostic, type ExchangeSpec, type Logger, type ProcessInfo, type Span, type Unit, type UnitReport,
} from '../../core/index.js';
import type { AsgiConfig } from './schema.js';
import { hasBody, headPayload } from './scope.js';
import { runDir } from './settings.js';
import { isWebSocket, notAvailable, WebSockets } from './websocket.js';

/**
 * AsgiUnit is an `asgi` route in one Node worker. The pool it talks to runs beside the
 * workers (started by the plugin's master part); the unit keeps a link to each of the pool's
 * Python workers (PoolLinks) and sends each request, or WebSocket, over the least loaded one
 * as a stream: each worker's event loop serves many at once.
 */
export class AsgiUnit implements Unit {
  private links: PoolLinks | undefined;
  private sockets: WebSockets | undefined;
  private readonly spec: ExchangeSpec;
  private readonly buffering: BodyBuffering;
  readonly upgrades = ['websocket'];

  constructor(private readonly cfg: AsgiConfig, private readonly at: Span, private readonly log: Logger, private readonly proc: ProcessInfo) {
    this.spec = { kind: 'asgi', timeout: pythonPoolSettings(cfg, at).timeout, killOnTimeout: false, log };
    this.buffering = bodyBuffering(cfg, true);
  }

  validate(): Diagnostic[] {
    if (PYTHON_APP_SPEC.test(this.cfg.app)) return [];
    return [diagnostic('GK_ASGI_APP', `bad application '${this.cfg.app}' in 'asgi': expected MODULE:CALLABLE`, spanOf(this.cfg, 'app') ?? this.at, 'for example asgi main:app or asgi mysite.asgi:application')];
  }

  async provision(): Promise<void> {
    this.links = new PoolLinks(runDir(this.cfg, this.at, this.proc), 'asgi', this.cfg.app, Math.max(POOL_QUEUE_WAIT, this.spec.timeout));
    this.sockets = new WebSockets(this.links, this.spec.timeout, this.log);
    this.links.open();
  }

  handle(ctx: Ctx): Promise<void> {
    if (ctx.upgrade) return isWebSocket(ctx) ? this.sockets!.serve(ctx) : Promise.reject(notAvailable());
    if (!hasBody(ctx)) return new HttpExchange(ctx, this.links!, false, headPayload(ctx, false), this.spec).run();
    return this.withBody(ctx);
  }

  private async withBody(ctx: Ctx): Promise<void> {
    const buffered = this.buffering.enabled ? await bufferBody(ctx, this.buffering) : undefined;
    return new HttpExchange(ctx, this.links!, !this.buffering.enabled || buffered !== undefined, headPayload(ctx, false, buffered?.length), this.spec).run();
  }

  /** report shows this worker's view of the pool (admin). */
  report(): UnitReport {
    return this.links ? { pools: [this.links.report(`asgi ${this.cfg.app}`, this.cfg.workers ?? 1)] } : {};
  }

  async close(): Promise<void> {
    this.links?.close();
    this.sockets?.close();
  }
}
