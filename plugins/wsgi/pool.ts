import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger, Plugin, Span } from '../../core/index.js';
import type { WsgiConfig } from './schema.js';
import { PYTHON_MODULE, poolSettings, runDir, type PoolSettings } from './settings.js';
import { PoolWatch } from './watch.js';

type MasterHook = NonNullable<Plugin['master']>;
/** MasterContext is what the kernel gives a plugin's master part. */
export type MasterContext = Parameters<MasterHook>[1];
/** MasterPart is a plugin's work in the master for one generation. */
export type MasterPart = NonNullable<ReturnType<MasterHook>>;
type Supervised = ReturnType<MasterContext['supervise']>;

const KEEPER_WAIT = 10_000;
const WORKERS_WAIT = 60_000;

/**
 * Pool is one `wsgi` directive's Python processes for one config generation: a keeper that
 * holds the listening unix socket, and `workers` preforked workers that import the app once
 * and accept on it. The kernel's supervisor restarts any of them that exits.
 */
export class Pool {
  private readonly s: PoolSettings;
  private readonly dir: string;
  private keeper: Supervised | undefined;
  private workers: Supervised[] = [];
  private readonly log: Logger;

  constructor(cfg: WsgiConfig, private readonly at: Span, private readonly ctx: MasterContext) {
    this.s = poolSettings(cfg, at);
    this.dir = runDir(cfg, at, { pid: process.pid, role: 'master', workerId: 0, generation: ctx.generation });
    this.log = ctx.log.child({ app: this.s.app });
  }

  /** start resolves once every worker is ready, or earlier when they fail to load the app (requests get 503 meanwhile). */
  async start(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const s = this.s;
    const where = `${this.at.file}:${this.at.line}`;
    const keeper = this.ctx.supervise({ name: `wsgi-keeper ${s.app}`, command: s.python, args: ['-I', '-u', PYTHON_MODULE, 'keeper', this.dir], cwd: this.dir, env: { PATH: process.env.PATH ?? '' } });
    this.keeper = keeper;
    const watch = new PoolWatch(join(this.dir, 'keeper.sock'), 20);
    watch.open();
    try {
      const up = await watch.until((st) => st.connected || keeper.restarts > 0, KEEPER_WAIT);
      if (!watch.status.connected) throw new Error(`${where}: '${s.python}' could not run the wsgi keeper${up ? '' : ` within ${KEEPER_WAIT}ms`}; see the log`);
      const args = ['-u', PYTHON_MODULE, 'worker', this.dir, s.app, String(s.threads), String(s.maxRequests), String(s.workers)];
      for (let i = 1; i <= s.workers; i++) {
        this.workers.push(this.ctx.supervise({ name: `wsgi ${s.app} #${i}`, command: s.python, args, cwd: s.chdir, env: s.env }));
      }
      const ready = await watch.until((st) => st.workers >= s.workers || st.failing, WORKERS_WAIT);
      if (watch.status.failing) this.log.error(`${where}: the wsgi application '${s.app}' fails to load (traceback above); retrying, requests get 503 meanwhile`);
      else if (!ready) this.log.warn(`${where}: only ${watch.status.workers} of ${s.workers} wsgi workers ready after ${WORKERS_WAIT}ms`);
      else this.log.info('wsgi pool ready', { workers: s.workers, threads: s.threads });
    } finally {
      watch.close();
    }
  }

  /** stop ends the workers (TERM, KILL after `timeout`), then the keeper, and removes the sockets. */
  async stop(timeout: number): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop(timeout)));
    await this.keeper?.stop(timeout);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** masterPart runs one pool per `wsgi` occurrence. */
export function masterPart(directives: Parameters<MasterHook>[0], ctx: MasterContext): MasterPart {
  const pools = directives.map((d) => new Pool(d.config as WsgiConfig, d.at, ctx));
  const started: Pool[] = [];
  return {
    async start() {
      started.push(...pools);
      await Promise.all(pools.map((p) => p.start()));
    },
    async stop(timeout) {
      await Promise.all(started.map((p) => p.stop(timeout)));
    },
  };
}
