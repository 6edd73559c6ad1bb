import { join } from 'node:path';
import {
  awaitPoolWorker, bodyBuffering, bufferBody, diagnostic, PoolWatch, PYTHON_APP_SPEC, pythonPoolSettings, spanOf,
  type BodyBuffering, type Ctx, type Diagnostic, type Logger, type ProcessInfo, type Span, type Unit,
} from '../../core/index.js';
import { exchange } from './exchange.js';
import type { AsgiConfig } from './schema.js';
import { runDir } from './settings.js';
import { isWebSocket, notAvailable, WebSockets } from './websocket.js';

/**
 * AsgiUnit is an `asgi` route in one Node worker. The pool it talks to runs beside the
 * workers (started by the plugin's master part); the unit follows the pool's status and
 * sends each request, or WebSocket, over a fresh unix-socket connection that the event
 * loop of one Python worker accepts, many at a time.
 */
export class AsgiUnit implements Unit {
  private watch: PoolWatch | undefined;
  private sockets: WebSockets | undefined;
  private poolPath = '';
  private readonly timeout: number;
  private readonly buffering: BodyBuffering;
  readonly upgrades = ['websocket'];

  constructor(private readonly cfg: AsgiConfig, private readonly at: Span, private readonly log: Logger, private readonly proc: ProcessInfo) {
    this.timeout = pythonPoolSettings(cfg, at).timeout;
    this.buffering = bodyBuffering(cfg, true);
  }

  validate(): Diagnostic[] {
    if (PYTHON_APP_SPEC.test(this.cfg.app)) return [];
    return [diagnostic('GK_ASGI_APP', `bad application '${this.cfg.app}' in 'asgi': expected MODULE:CALLABLE`, spanOf(this.cfg, 'app') ?? this.at, 'for example asgi main:app or asgi mysite.asgi:application')];
  }

  async provision(): Promise<void> {
    const dir = runDir(this.cfg, this.at, this.proc);
    this.poolPath = join(dir, 'pool.sock');
    this.sockets = new WebSockets(this.poolPath, this.timeout, this.log);
    this.watch = new PoolWatch(join(dir, 'keeper.sock'));
    this.watch.open();
  }

  async handle(ctx: Ctx): Promise<void> {
    const body = this.buffering.enabled && !ctx.upgrade ? await bufferBody(ctx, this.buffering) : undefined;
    await awaitPoolWorker(this.watch!, 'asgi', this.cfg.app);
    if (ctx.upgrade) {
      if (!isWebSocket(ctx)) throw notAvailable();
      return this.sockets!.serve(ctx);
    }
    return exchange(ctx, this.poolPath, this.timeout, body?.length);
  }

  async close(): Promise<void> {
    this.watch?.close();
    this.sockets?.close();
  }
}
