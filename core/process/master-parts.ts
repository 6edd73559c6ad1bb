import type { ProcessInfo } from '../container.js';
import type { Loaded } from '../load.js';
import type { Logger } from '../logger.js';
import type { MasterPart } from '../plugin.js';
import { masterPlugins } from './master-plugins.js';
import { supervise } from './supervisor.js';

/** MasterParts are the running master parts of one generation. */
export interface MasterParts {
  /** byPlugin holds each started part under its plugin's name. */
  readonly byPlugin: ReadonlyMap<string, MasterPart>;
  stop(timeout: number): Promise<void>;
}

/** PartsPlace is the process and generation master parts run in, and the generation's run folder. */
export type PartsPlace = Pick<ProcessInfo, 'generation' | 'runDir'> & { readonly role: 'single' | 'master' };

/**
 * startMasterParts runs every plugin's master part for a generation, in plugin order; if one
 * fails to start, those already started are stopped and the error is thrown. `previous` are
 * the parts of the generation a reload replaces.
 */
export async function startMasterParts(loaded: Loaded, at: PartsPlace, log: Logger, previous?: MasterParts): Promise<MasterParts> {
  const { generation, runDir } = at;
  const { plugins, directives: byPlugin } = masterPlugins(loaded, log, { pid: process.pid, role: at.role, workerId: 0, generation, runDir });
  const running = new Map<string, MasterPart>(); // in start order
  const stop = async (timeout: number): Promise<void> => {
    for (const p of [...running.values()].reverse()) {
      try {
        await p.stop(timeout);
      } catch (e) {
        log.error('master part stop failed', { error: (e as Error).message });
      }
    }
    running.clear();
  };
  for (const p of plugins) {
    const ds = byPlugin.get(p.name);
    if (!p.master || !ds) continue;
    const plog = log.child({ plugin: p.name });
    const before = previous?.byPlugin.get(p.name);
    const part = p.master(ds, { log: plog, generation, runDir, supervise: (spec) => supervise(spec, plog), ...(before ? { previous: before } : {}) });
    if (!part) continue;
    running.set(p.name, part);
    try {
      await part.start?.();
    } catch (e) {
      await stop(0);
      throw new Error(`plugin '${p.name}' failed to start: ${(e as Error).message}`, { cause: e });
    }
  }
  return { byPlugin: running, stop };
}
