import { join } from 'node:path';
import {
  awaitPoolWorker, bodyBuffering, bufferBody, diagnostic, PoolWatch, spanOf, type BodyBuffering, type Ctx, type Diagnostic, type Logger, type ProcessInfo, type Span, type Unit,
} from '../../core/index.js';
import { exchange } from './exchange.js';
import type { WsgiConfig } from './schema.js';
import { APP_SPEC, poolSettings, runDir } from './settings.js';

/**
 * WsgiUnit is a `wsgi` route in one Node worker. The pool it talks to runs beside the
 * workers (started by the plugin's master part); the unit only follows the pool's status
 * and sends each request over a fresh unix-socket connection that a Python worker accepts.
 */
export class WsgiUnit implements Unit {
  private watch: PoolWatch | undefined;
  private poolPath = '';
  private readonly timeout: number;
  private readonly buffering: BodyBuffering;

  constructor(private readonly cfg: WsgiConfig, private readonly at: Span, private readonly log: Logger, private readonly proc: ProcessInfo) {
    this.timeout = poolSettings(cfg, at).timeout;
    this.buffering = bodyBuffering(cfg, true);
  }

  validate(): Diagnostic[] {
    if (APP_SPEC.test(this.cfg.app)) return [];
    return [diagnostic('GK_WSGI_APP', `bad application '${this.cfg.app}' in 'wsgi': expected MODULE:CALLABLE`, spanOf(this.cfg, 'app') ?? this.at, 'for example wsgi hello:application or wsgi mysite.wsgi:application')];
  }

  async provision(): Promise<void> {
    const dir = runDir(this.cfg, this.at, this.proc);
    this.poolPath = join(dir, 'pool.sock');
    this.watch = new PoolWatch(join(dir, 'keeper.sock'));
    this.watch.open();
  }

  async handle(ctx: Ctx): Promise<void> {
    const body = this.buffering.enabled ? await bufferBody(ctx, this.buffering) : undefined;
    await awaitPoolWorker(this.watch!, 'wsgi', this.cfg.app);
    return exchange(ctx, this.poolPath, this.timeout, this.log, body?.length);
  }

  async close(): Promise<void> {
    this.watch?.close();
  }
}
