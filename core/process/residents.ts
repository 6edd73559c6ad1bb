import type { ProcessInfo } from '../container.js';
import type { Loaded } from '../load.js';
import type { Logger } from '../logger.js';
import type { Resident } from '../plugin.js';
import type { MasterControl } from './master-control.js';
import { masterPlugins } from './master-plugins.js';

/** RESIDENT_PROCESS is where resident parts run: the master, in no generation, so with no generation's run folder. */
const RESIDENT_PROCESS: ProcessInfo = {
  pid: process.pid,
  role: 'master',
  workerId: 0,
  generation: 0,
  get runDir(): string {
    throw new Error('no run folder: a resident part outlives generations');
  },
};

/**
 * Residents runs the plugins' resident parts (Plugin.resident): made with the first config,
 * told every config served after it, stopped with the master.
 */
export class Residents {
  private readonly running = new Map<string, Resident>();

  constructor(
    private readonly log: Logger,
    private readonly control: MasterControl,
  ) {}

  /** apply tells every resident part the directives of the config now served; it throws when one fails. */
  async apply(loaded: Loaded): Promise<void> {
    const { plugins, directives: byPlugin } = masterPlugins(loaded, this.log, RESIDENT_PROCESS);
    for (const p of plugins) {
      if (!p.resident || this.running.has(p.name) || !byPlugin.has(p.name)) continue;
      this.running.set(p.name, p.resident({ log: this.log.child({ plugin: p.name }), control: this.control }));
    }
    for (const [name, r] of this.running) await r.update(byPlugin.get(name) ?? []);
  }

  /** stop stops every resident part. */
  async stop(): Promise<void> {
    for (const [name, r] of this.running) {
      try {
        await r.stop();
      } catch (e) {
        this.log.error('resident part stop failed', { plugin: name, error: (e as Error).message });
      }
    }
    this.running.clear();
  }
}
