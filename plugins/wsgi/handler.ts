import {
  bodyBuffering, bufferBody, diagnostic, HttpExchange, POOL_QUEUE_WAIT, PoolLinks, spanOf,
  type BodyBuffering, type Ctx, type Diagnostic, type ExchangeSpec, type Logger, type ProcessInfo, type Span, type Unit, type UnitReport,
} from '../../core/index.js';
import { hasBody, headPayload } from './environ.js';
import type { WsgiConfig } from './schema.js';
import { APP_SPEC, poolSettings, runDir } from './settings.js';

/**
 * WsgiUnit is a `wsgi` route in one Node worker. The pool it talks to runs beside the
 * workers (started by the plugin's master part); the unit keeps a link to each of the pool's
 * Python workers and sends each request over one of them as a stream (PoolLinks), at most
 * `threads` at once per link, so that no request waits in Python behind another of this
 * Node worker's. A request waits for a free link as long as the app's timeout (5 s at least).
 */
export class WsgiUnit implements Unit {
  private links: PoolLinks | undefined;
  private readonly spec: ExchangeSpec;
  private readonly buffering: BodyBuffering;

  constructor(private readonly cfg: WsgiConfig, private readonly at: Span, log: Logger, private readonly proc: ProcessInfo) {
    this.spec = { kind: 'wsgi', timeout: poolSettings(cfg, at).timeout, killOnTimeout: true, log };
    this.buffering = bodyBuffering(cfg, true);
  }

  validate(): Diagnostic[] {
    if (APP_SPEC.test(this.cfg.app)) return [];
    return [diagnostic('GK_WSGI_APP', `bad application '${this.cfg.app}' in 'wsgi': expected MODULE:CALLABLE`, spanOf(this.cfg, 'app') ?? this.at, 'for example wsgi hello:application or wsgi mysite.wsgi:application')];
  }

  async provision(): Promise<void> {
    this.links = new PoolLinks(runDir(this.cfg, this.at, this.proc), 'wsgi', this.cfg.app, Math.max(POOL_QUEUE_WAIT, this.spec.timeout));
    this.links.open();
  }

  handle(ctx: Ctx): Promise<void> {
    if (!hasBody(ctx)) return new HttpExchange(ctx, this.links!, false, headPayload(ctx), this.spec).run();
    return this.withBody(ctx);
  }

  private async withBody(ctx: Ctx): Promise<void> {
    const buffered = this.buffering.enabled ? await bufferBody(ctx, this.buffering) : undefined;
    return new HttpExchange(ctx, this.links!, !this.buffering.enabled || buffered !== undefined, headPayload(ctx, buffered?.length), this.spec).run();
  }

  /** report shows this worker's view of the pool (admin). */
  report(): UnitReport {
    return this.links ? { pools: [this.links.report(`wsgi ${this.cfg.app}`, this.cfg.workers ?? 1)] } : {};
  }

  async close(): Promise<void> {
    this.links?.close();
  }
}
