import { join } from 'node:path';
import { diagnostic, HttpError, type Ctx, type Diagnostic, type Logger, type ProcessInfo, type Span, type Unit } from '../../core/index.js';
import { exchange } from './exchange.js';
import type { WsgiConfig } from './schema.js';
import { APP_SPEC, poolSettings, runDir } from './settings.js';
import { PoolWatch } from './watch.js';

/** QUEUE_WAIT is how long a request waits for a ready Python worker (pool starting or restarting) before 503. */
const QUEUE_WAIT = 5_000;

/**
 * WsgiUnit is a `wsgi` route in one Node worker. The pool it talks to runs beside the
 * workers (started by the plugin's master part); the unit only follows the pool's status
 * and sends each request over a fresh unix-socket connection that a Python worker accepts.
 */
export class WsgiUnit implements Unit {
  private watch: PoolWatch | undefined;
  private poolPath = '';
  private readonly timeout: number;

  constructor(private readonly cfg: WsgiConfig, private readonly at: Span, private readonly log: Logger, private readonly proc: ProcessInfo) {
    this.timeout = poolSettings(cfg, at).timeout;
  }

  validate(): Diagnostic[] {
    if (APP_SPEC.test(this.cfg.app)) return [];
    return [diagnostic('GK_WSGI_APP', `bad application '${this.cfg.app}' in 'wsgi': expected MODULE:CALLABLE`, this.at, 'for example wsgi hello:application or wsgi mysite.wsgi:application')];
  }

  async provision(): Promise<void> {
    const dir = runDir(this.cfg, this.at, this.proc);
    this.poolPath = join(dir, 'pool.sock');
    this.watch = new PoolWatch(join(dir, 'keeper.sock'));
    this.watch.open();
  }

  async handle(ctx: Ctx): Promise<void> {
    const watch = this.watch!;
    if (watch.status.workers === 0) {
      if (!watch.status.failing) await watch.until((s) => s.workers > 0 || s.failing || s.missing === true, QUEUE_WAIT);
      const s = watch.status;
      if (s.workers === 0) {
        const why = s.failing ? `wsgi application '${this.cfg.app}' fails to load`
          : s.missing ? `no wsgi pool runs for '${this.cfg.app}' (its master part was not started)` : 'no wsgi worker is ready';
        throw new HttpError(503, why, { headers: { 'retry-after': '1' } });
      }
    }
    return exchange(ctx, this.poolPath, this.timeout, this.log);
  }

  async close(): Promise<void> {
    this.watch?.close();
  }
}
