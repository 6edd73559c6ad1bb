import { diagnostic, GateError, spanOf, type Ctx, type Diagnostic, type Logger, type Span, type HandlerUnit } from '../../core/index.js';
import { serveFetch } from './fetch.js';
import { serveListener } from './listener.js';
import { resolveModule, type LoadedApp } from './load.js';
import type { AppModules } from './modules.js';
import type { AppConfig } from './schema.js';

const WEBSOCKET = ['websocket'];

/**
 * AppUnit serves one Node application module: imported once per worker at provision (so
 * prefork gives each worker its own copy, as Gunicorn does for a Python app; see AppModules), then called
 * for every request as a listener or a fetch handler; Upgrade requests go to its upgrade
 * export when it has one.
 */
export class AppUnit implements HandlerUnit {
  private app: LoadedApp | undefined;
  private readonly sockets = new Set<import('node:stream').Duplex>();

  constructor(
    private readonly cfg: AppConfig,
    private readonly at: Span,
    private readonly log: Logger,
    private readonly modules: AppModules,
  ) {}

  /** upgrades: a WebSocket, when the application has an upgrade handler. */
  get upgrades(): readonly string[] {
    return this.app?.upgrade ? WEBSOCKET : [];
  }

  validate(): Diagnostic[] {
    if (resolveModule(this.cfg.module)) return [];
    return [
      diagnostic(
        'GK_APP_MODULE',
        `app module '${this.cfg.module}' does not exist`,
        spanOf(this.cfg, 'module') ?? this.at,
        'give the path of a .js, .mjs or .cjs file, or of a folder with a package.json or index.js (relative paths start at the .gate file)',
      ),
    ];
  }

  async provision(): Promise<void> {
    const file = resolveModule(this.cfg.module);
    if (!file) throw new GateError('GK_PLUGIN_LOAD', `app module '${this.cfg.module}' does not exist`);
    try {
      this.app = await this.modules.get(file, this.cfg.export, this.cfg.style);
    } catch (e) {
      throw new GateError('GK_PLUGIN_LOAD', `app module '${file}' could not be loaded: ${(e as Error).message}`, { cause: e });
    }
    this.log.debug('app loaded', { module: file, style: this.app.style, upgrade: Boolean(this.app.upgrade) });
  }

  handle(ctx: Ctx): Promise<void> {
    const app = this.app!;
    if (this.cfg.strip_mount && ctx.mount) ctx.req.url = innerUrl(ctx);
    if (ctx.upgrade && app.upgrade) return this.upgrade(ctx, app.upgrade);
    return app.style === 'listener' ? serveListener(ctx, app.listener, this.log) : serveFetch(ctx, app.fetch);
  }

  /** upgrade hands the connection to the application's upgrade handler; it is destroyed at close if still open. */
  private async upgrade(ctx: Ctx, handler: NonNullable<LoadedApp['upgrade']>): Promise<void> {
    const { socket, head } = ctx.takeUpgrade();
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    await handler(ctx.req, socket, head);
  }

  /** close ends the upgraded connections this unit handed over; the module itself closes with the plugin. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.app = undefined;
  }
}

/** innerUrl is the request URL with the mount point taken off ('/api/users?x' → '/users?x' under /api/). */
function innerUrl(ctx: Ctx): string {
  const raw = ctx.rawPath.startsWith(ctx.mount) ? ctx.rawPath.slice(ctx.mount.length) : encodeURI(ctx.pathInMount);
  const path = raw.startsWith('/') ? raw : `/${raw}`;
  return ctx.query ? `${path}?${ctx.query}` : path;
}
