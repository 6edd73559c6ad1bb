import type { MasterContext, MasterDirective, MasterPart } from '../../core/index.js';
import { poolsPart, PythonPool, pythonPoolSettings } from '../../lib/index.js';
import type { AsgiConfig } from './schema.js';
import { PYTHON_MODULE, runDir } from './settings.js';

/**
 * masterPart runs one pool per `asgi` occurrence: the kernel's PythonPool with
 * gatekit_asgi.py workers. A worker runs the lifespan startup before it joins the pool, so
 * start() resolves once the application has started; a failed startup fails the boot (or
 * the reload) with the application's message. Stopping a worker runs the lifespan shutdown.
 */
export function masterPart(directives: readonly MasterDirective[], ctx: MasterContext): MasterPart {
  const pools = directives.map((d) => {
    const cfg = d.config as AsgiConfig;
    const s = pythonPoolSettings(cfg, d.at);
    const dir = runDir(cfg, d.at, { pid: process.pid, role: 'master', workerId: 0, generation: ctx.generation });
    return new PythonPool({ kind: 'asgi', module: PYTHON_MODULE, dir, settings: s, args: [s.app, String(s.maxRequests), String(s.timeout)] }, d.at, ctx);
  });
  return poolsPart(pools);
}
