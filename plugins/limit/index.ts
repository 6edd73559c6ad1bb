import { bind, inject, injectable, LOGGER, PROCESS_INFO, type Logger, type MasterContext, type MasterDirective, type MasterPart, type Plugin, type ProcessInfo, type Span } from '../../core/index.js';
import { CountersBroker } from './broker.js';
import { BrokerLink, SharedCounters } from './broker-link.js';
import { carryOver } from './carry.js';
import { blockId, counts, LocalCounters, type Counters } from './counters.js';
import { LimitUnit } from './handler.js';
import { limit, type LimitConfig } from './schema.js';
import { brokerSocket } from './wire.js';

/**
 * LimitPlugin owns `limit`: body size and pace, request rate and requests in flight. With
 * workers, the master keeps every block's rates and counts (CountersBroker) and each worker
 * asks it over one connection (BrokerLink), so the limits hold across workers.
 */
@injectable()
export class LimitPlugin implements Plugin {
  readonly name = 'limit';
  readonly directives = [bind(limit, (cfg, at) => new LimitUnit(cfg, at, this.proc.role === 'worker' ? (local, where) => this.countersOf(local, where) : undefined))];
  private link: BrokerLink | undefined;

  constructor(@inject(LOGGER) private readonly log: Logger, @inject(PROCESS_INFO) private readonly proc: ProcessInfo) {}

  master(directives: readonly MasterDirective<LimitConfig>[], ctx: MasterContext): MasterPart | undefined {
    if (this.proc.role !== 'master') return undefined; // workers 0: the one process counts alone
    const before = ctx.previous instanceof CountersBroker ? ctx.previous : undefined;
    const fresh = new Map<string, LocalCounters>();
    for (const d of directives) {
      const cfg = d.config;
      const id = blockId(d.at);
      if (counts(cfg) && !fresh.has(id)) fresh.set(id, new LocalCounters(cfg));
    }
    const blocks = before ? carryOver(before.blocks, fresh) : fresh;
    return blocks.size ? new CountersBroker(brokerSocket(ctx.runDir), blocks, ctx.log) : undefined;
  }

  async close(): Promise<void> {
    this.link?.close();
  }

  /** countersOf connects this worker to the master's counters (once); a block keeps `local` for when the master cannot answer. */
  private async countersOf(local: LocalCounters, at: Span): Promise<Counters> {
    const link = (this.link ??= new BrokerLink(brokerSocket(this.proc.runDir), this.log.child({ plugin: this.name })));
    return (await link.open()) ? new SharedCounters(link, blockId(at), local) : local;
  }
}
