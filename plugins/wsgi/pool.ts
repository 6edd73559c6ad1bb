import type { MasterContext, MasterDirective, MasterPart, Span } from '../../core/index.js';
import { poolsPart, PythonPool } from '../../lib/index.js';
import type { WsgiConfig } from './schema.js';
import { PYTHON_MODULE, poolSettings, runDir } from './settings.js';

/** poolOf is one `wsgi` directive's pool (the kernel's PythonPool) running gatekit_wsgi.py workers. */
function poolOf(cfg: WsgiConfig, at: Span, ctx: MasterContext): PythonPool {
  const s = poolSettings(cfg, at);
  const dir = runDir(cfg, at, { pid: process.pid, role: 'master', workerId: 0, generation: ctx.generation });
  return new PythonPool({
    kind: 'wsgi', module: PYTHON_MODULE, dir, settings: s, readyFields: { threads: s.threads },
    args: [s.app, String(s.threads), String(s.maxRequests), String(s.workers)],
  }, at, ctx);
}

/** masterPart runs one pool per `wsgi` occurrence. */
export function masterPart(directives: readonly MasterDirective[], ctx: MasterContext): MasterPart {
  const pools = directives.map((d) => poolOf(d.config as WsgiConfig, d.at, ctx));
  return poolsPart(pools);
}
