import {
  diagnostic,
  spanOf,
  type Ctx,
  type Diagnostic,
  type HandlerUnit,
  type Logger,
  type MasterContext,
  type MasterDirective,
  type MasterPart,
  type Plugin,
  type PluginDirective,
  type ProcessInfo,
  type Span,
  type UnitReport,
} from '../../core/index.js';
import { bodyBuffering, bufferBody, type BodyBuffering, type BodyBufferingConfig } from '../request-body.js';
import { HttpExchange, type ExchangeSpec } from './exchange.js';
import { POOL_QUEUE_WAIT, PoolLinks } from './links.js';
import { poolsPart, type PythonPool } from './pool.js';
import { poolRunDir, PYTHON_APP_SPEC, pythonPoolSettings, type PythonPoolConfig } from './settings.js';

/** PythonAppConfig is what a Python application directive's checked config holds: the pool's options and body buffering. */
export type PythonAppConfig = PythonPoolConfig & BodyBufferingConfig;

/** PythonApp is how one Python application plugin (wsgi, asgi) speaks to its pool. */
export interface PythonApp {
  /** kind is the plugin's name and directive: it names the pool's folder, processes and log lines. */
  readonly kind: string;
  /** killOnTimeout: see ExchangeSpec. */
  readonly killOnTimeout: boolean;
  /** example is a directive line a bad application spec's help shows ('wsgi hello:application'). */
  readonly examples: string;
  /** head is a request's head frame payload, as the plugin's Python module reads it; `length` is a buffered body's. */
  head(ctx: Ctx, length?: number): string;
}

/**
 * PythonAppUnit is a Python application route in one Node worker. The pool it talks to runs
 * beside the workers (started by the plugin's master part); the unit keeps a link to each of
 * the pool's Python workers (PoolLinks) and sends each request over one of them as a stream.
 * A request waits for a free link as long as the app's timeout (5 s at least).
 */
export class PythonAppUnit implements HandlerUnit {
  protected links: PoolLinks | undefined;
  protected readonly spec: ExchangeSpec;
  private readonly buffering: BodyBuffering;

  constructor(
    protected readonly app: PythonApp,
    private readonly cfg: PythonAppConfig,
    private readonly at: Span,
    log: Logger,
    private readonly proc: ProcessInfo,
  ) {
    this.spec = { kind: app.kind, timeout: pythonPoolSettings(cfg, at).timeout, killOnTimeout: app.killOnTimeout, log };
    this.buffering = bodyBuffering(cfg);
  }

  validate(): Diagnostic[] {
    if (PYTHON_APP_SPEC.test(this.cfg.app)) return [];
    const { kind, examples } = this.app;
    return [
      diagnostic(
        `GK_${kind.toUpperCase()}_APP`,
        `bad application '${this.cfg.app}' in '${kind}': expected MODULE:CALLABLE`,
        spanOf(this.cfg, 'app') ?? this.at,
        `for example ${examples}`,
      ),
    ];
  }

  async provision(): Promise<void> {
    const dir = poolRunDir(this.app.kind, this.cfg, this.at, this.proc.runDir);
    this.links = new PoolLinks(dir, this.app.kind, this.cfg.app, Math.max(POOL_QUEUE_WAIT, this.spec.timeout));
    this.links.open();
  }

  handle(ctx: Ctx): Promise<void> {
    if (!hasBody(ctx)) return new HttpExchange(ctx, this.links!, false, this.app.head(ctx), this.spec).run();
    return this.withBody(ctx);
  }

  private async withBody(ctx: Ctx): Promise<void> {
    const buffered = this.buffering.enabled ? await bufferBody(ctx, this.buffering) : undefined;
    return new HttpExchange(ctx, this.links!, !this.buffering.enabled || buffered !== undefined, this.app.head(ctx, buffered?.length), this.spec).run();
  }

  /** report shows this worker's view of the pool (admin). */
  report(): UnitReport {
    return this.links ? { pools: [this.links.report(`${this.app.kind} ${this.cfg.app}`, this.cfg.workers)] } : {};
  }

  async close(): Promise<void> {
    this.links?.close();
  }
}

/** hasBody tells whether the request announces a body (a length above 0, or chunked). */
function hasBody(ctx: Ctx): boolean {
  const h = ctx.req.headers;
  return ctx.body !== ctx.req || h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/**
 * PythonAppPlugin is what the Python application plugins share: one unit per directive in
 * each worker, and in the master one pool per directive, in the generation's run folder.
 * A plugin says how to make each (with its own constructor, which injects the logger and
 * ProcessInfo, as every plugin's does).
 */
export abstract class PythonAppPlugin<C extends PythonAppConfig> implements Plugin {
  abstract readonly name: string;
  /** directives is the plugin's one directive, bound to `unit` (see bind). */
  abstract readonly directives: readonly PluginDirective[];

  constructor(
    protected readonly log: Logger,
    protected readonly proc: ProcessInfo,
  ) {}

  master(directives: readonly MasterDirective<C>[], ctx: MasterContext): MasterPart {
    return poolsPart(directives.map((d) => this.pool(d.config, d.at, ctx)));
  }

  /** unit makes the unit of one directive in a worker. */
  protected abstract unit(cfg: C, at: Span): HandlerUnit;
  /** pool makes the pool of one directive in the master; its folder is poolRunDir(kind, cfg, at, ctx.runDir). */
  protected abstract pool(cfg: C, at: Span, ctx: MasterContext): PythonPool;
}
