import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Span, Fields, Logger, MasterContext, MasterPart, Supervised } from '../../core/index.js';
import { POOL_PYTHON, type PythonPoolSettings } from './settings.js';
import { PoolWatch } from './watch.js';

const KEEPER_WAIT = 10_000;
const WORKERS_WAIT = 60_000;
/** LOAD_FAILED is the exit code of a worker that could not load the application, having logged why (gatekit_pool.fail). */
const LOAD_FAILED = 3;

/** PythonPoolSpec describes one pool: which plugin's Python module its workers run, and how. */
export interface PythonPoolSpec {
  /** kind is the plugin's name (wsgi, asgi): it names the processes and the log lines. */
  readonly kind: string;
  /** module is the plugin's Python file; gatekit_pool.py loads it and calls its `worker(run_dir, *args)`. */
  readonly module: string;
  /** args are the module's worker arguments (the application spec first, by convention). */
  readonly args: readonly string[];
  readonly settings: PythonPoolSettings;
  /** dir is the pool's run folder (poolRunDir), made afresh by start() and removed by stop(). */
  readonly dir: string;
  /** readyFields are added to the "pool ready" log line. */
  readonly readyFields?: Fields;
}

/**
 * PythonPool is one directive's Python processes for one config generation, the master
 * side of a pool: a keeper (gatekit_pool.py) that keeps the list of ready workers and reports
 * it on DIR/keeper.sock, and `workers` preforked workers that load the application once,
 * listen on a socket of their own in DIR and announce it to the keeper. The kernel's
 * supervisor restarts any of them that exits. Node workers follow the list (PoolLinks) and
 * keep a link to each worker; requests wait in the Node workers meanwhile.
 *
 * A worker that cannot load the application reports it: the pool keeps retrying and
 * requests get 503. A worker that declares its failure fatal (gatekit_pool.fatal, e.g. a
 * failed ASGI lifespan startup) makes start() throw with its message: a boot failure.
 */
export class PythonPool {
  private keeper: Supervised | undefined;
  private workers: Supervised[] = [];
  private readonly log: Logger;

  constructor(
    private readonly spec: PythonPoolSpec,
    private readonly at: Span,
    private readonly ctx: MasterContext,
  ) {
    this.log = ctx.log.child({ app: spec.settings.app });
  }

  /** start resolves once every worker is ready, or earlier when they fail to load the app (requests get 503 meanwhile). */
  async start(): Promise<void> {
    const { kind, dir, settings: s } = this.spec;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const where = `${this.at.file}:${this.at.line}`;
    const keeper = this.ctx.supervise({
      name: `${kind}-keeper ${s.app}`,
      command: s.python,
      args: ['-I', '-u', POOL_PYTHON, 'keeper', dir],
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
    });
    this.keeper = keeper;
    const watch = new PoolWatch(join(dir, 'keeper.sock'), 20);
    watch.open();
    try {
      const up = await watch.until((st) => st.connected || keeper.restarts > 0, KEEPER_WAIT);
      if (!watch.status.connected)
        throw new Error(`${where}: '${s.python}' could not run the ${kind} keeper${up ? '' : ` within ${KEEPER_WAIT}ms`}; see the log`);
      const args = ['-u', POOL_PYTHON, 'worker', dir, this.spec.module, ...this.spec.args];
      for (let i = 1; i <= s.workers; i++) {
        this.workers.push(
          this.ctx.supervise({ name: `${kind} ${s.app} #${i}`, command: s.python, args, cwd: s.chdir, env: s.env, explainedExits: [LOAD_FAILED] }),
        );
      }
      const ready = await watch.until((st) => st.workers >= s.workers || st.failing, WORKERS_WAIT);
      const fatal = join(dir, 'fatal');
      if (watch.status.failing && existsSync(fatal)) {
        const why = readFileSync(fatal, 'utf8').trim();
        await this.stop(s.timeout);
        throw new Error(`${where}: the ${kind} application '${s.app}' failed to start: ${why}`);
      }
      if (watch.status.failing)
        this.log.error(`${where}: the ${kind} application '${s.app}' fails to load (traceback above); retrying, requests get 503 meanwhile`);
      else if (!ready) this.log.warn(`${where}: only ${watch.status.workers} of ${s.workers} ${kind} workers ready after ${WORKERS_WAIT}ms`);
      else this.log.info(`${kind} pool ready`, { workers: s.workers, ...this.spec.readyFields });
    } finally {
      watch.close();
    }
  }

  /** stop ends the workers (TERM, KILL after `timeout`), then the keeper, and removes the sockets; idempotent. */
  async stop(timeout: number): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.stop(timeout)));
    await this.keeper?.stop(timeout);
    this.keeper = undefined;
    rmSync(this.spec.dir, { recursive: true, force: true });
  }
}

/** poolsPart is the master part of a plugin that runs one pool per directive: all start together, the started ones stop. */
export function poolsPart(pools: readonly PythonPool[]): MasterPart {
  const started: PythonPool[] = [];
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
