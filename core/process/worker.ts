import type { DependencyContainer } from 'tsyringe';
import { Gate } from '../gate.js';
import { loadConfig } from '../load.js';
import { openLogTarget } from '../log-target.js';
import { TextLogger } from '../logger.js';
import type { ToMaster, ToWorker } from './protocol.js';
import { dropPrivileges } from './privileges.js';
import { Watchdog } from './watchdog.js';
import { ProcessProbe } from './worker-stats.js';

function send(m: ToMaster): void {
  process.send?.(m);
}

/** HANDOFF_LINGER_MS: how long a leaving worker stays after closing its listeners (see leave). */
const HANDOFF_LINGER_MS = 100;

/**
 * runWorker is a worker process's whole life: wait for the config from the master, serve it,
 * beat, ask to be recycled after max_requests, drain when told, and exit when the master goes.
 */
export function runWorker(root: DependencyContainer): void {
  // Signals from a terminal reach the whole process group: only the master decides.
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGTTIN', 'SIGTTOU'] as const) process.on(s, () => {});
  let gate: Gate | undefined;
  let generation = 0;
  const probe = new ProcessProbe();
  let watchdog: Watchdog | undefined;
  let leaving = false;
  let reopenLog = (): void => {};
  let closeLog = async (): Promise<void> => {};
  const leave = async (timeout: number, code: number): Promise<void> => {
    if (leaving) return;
    leaving = true;
    await gate?.close(timeout);
    // With round-robin in the master, a connection it handed over before it saw our listeners
    // close may still be on its way: staying a moment lets Node refuse it back to the master,
    // which gives it to another worker. A worker gone by then leaves that client hanging.
    await new Promise((resolve) => setTimeout(resolve, HANDOFF_LINGER_MS));
    await watchdog?.stop();
    await closeLog();
    process.exit(code);
  };
  process.on('disconnect', () => void leave(gate?.config.global.gracefulTimeout ?? 0, 0)); // the master is gone
  process.on('message', (m: ToWorker) => {
    if (m.t === 'config') void boot(m);
    else if (m.t === 'drain') void leave(m.timeout, 0);
    else if (m.t === 'reopen') {
      reopenLog();
      void gate?.reopen();
    } else if (m.t === 'stats' && gate) send({ t: 'stats', req: m.req, stats: probe.stats(gate, generation) });
    else if (m.t === 'upstream') send({ t: 'upstream-done', req: m.req, found: gate?.drainUpstream(m.id, m.drained) ?? false });
  });
  send({ t: 'hello' });

  async function boot(m: Extract<ToWorker, { t: 'config' }>): Promise<void> {
    generation = m.generation;
    const loaded = await loadConfig(m.file, { root, files: new Map(m.files) });
    if (!loaded.config) {
      send({ t: 'boot-failed', error: loaded.diagnostics.map((d) => `${d.span.file}:${d.span.line}:${d.span.col}: ${d.message}`).join('; ') });
      process.exit(1);
    }
    const g = loaded.config.global;
    const target = openLogTarget(g.errorLog);
    reopenLog = () => target.reopen();
    closeLog = () => target.close();
    const log = new TextLogger(target.sink, g.logLevel, { worker: m.workerId });
    if (g.workerTimeout > 0) watchdog = new Watchdog(g.workerTimeout, ` worker=${m.workerId} pid=${process.pid}`); // 0s: off, as Gunicorn's timeout 0
    const limit = g.maxRequests > 0 ? g.maxRequests + Math.floor(Math.random() * (g.maxRequestsJitter + 1)) : Infinity;
    let requests = 0;
    const wd = watchdog;
    try {
      gate = await Gate.start(loaded, {
        logger: log,
        process: { pid: process.pid, role: 'worker', workerId: m.workerId, generation: m.generation, runDir: m.runDir },
        onDispatch: (ctx) => {
          wd?.dispatching(ctx.method, ctx.uri);
          if (++requests === limit) send({ t: 'recycle', requests });
        },
      });
      dropPrivileges(g, log);
    } catch (e) {
      send({ t: 'boot-failed', error: (e as Error).message });
      await watchdog?.stop();
      process.exit(1);
    }
    if (m.workerId === 1)
      for (const a of gate.addresses())
        log.info('listening', {
          url: a.path ? `unix:${a.path}` : `${a.tls ? 'https' : 'http'}://${a.host?.includes(':') ? `[${a.host}]` : a.host}:${a.port}`,
          generation: m.generation,
        });
    const beat = setInterval(() => send({ t: 'beat', requests }), Math.max(50, Math.min(1000, (g.workerTimeout || 4000) / 4)));
    beat.unref();
    send({ t: 'ready' });
  }
}
