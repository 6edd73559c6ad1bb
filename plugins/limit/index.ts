import {
  bind,
  GateError,
  inject,
  injectable,
  LOGGER,
  PROCESS_INFO,
  STORE,
  type Logger,
  type MasterContext,
  type MasterDirective,
  type MasterPart,
  type Plugin,
  type ProcessInfo,
  type SharedStore,
  type Span,
} from '../../core/index.js';
import { CountersBroker } from './broker.js';
import { BrokerLink, SharedCounters } from './broker-link.js';
import { carryOver } from './carry.js';
import { blockId, counts, LocalCounters, shared, zoneOf, type Counters } from './counters.js';
import { LimitUnit, type CountersSource } from './handler.js';
import { limit, type LimitConfig } from './schema.js';
import { StoreCounters } from './store-counters.js';
import { brokerSocket } from './wire.js';

/** STORE_READY bounds the wait for the store at provision; requests meanwhile get the block's on_store_error. */
const STORE_READY = 1000;

/**
 * LimitPlugin owns `limit`: body size and pace, request rate and requests in flight. With
 * workers, the master keeps every block's rates and counts (CountersBroker) and each worker
 * asks it over one connection (BrokerLink), so the limits hold across workers. A block with
 * `store shared` counts in the global store instead (StoreCounters), across instances.
 */
@injectable()
export class LimitPlugin implements Plugin {
  readonly name = 'limit';
  readonly directives = [bind(limit, (cfg, at) => new LimitUnit(cfg, at, this.sourceOf(cfg)))];
  private link: BrokerLink | undefined;

  constructor(
    @inject(LOGGER) private readonly log: Logger,
    @inject(PROCESS_INFO) private readonly proc: ProcessInfo,
    @inject(STORE) private readonly store: SharedStore,
  ) {}

  master(directives: readonly MasterDirective<LimitConfig>[], ctx: MasterContext): MasterPart | undefined {
    if (this.proc.role !== 'master') return undefined; // workers 0: the one process counts alone
    const before = ctx.previous instanceof CountersBroker ? ctx.previous : undefined;
    const fresh = new Map<string, LocalCounters>();
    for (const d of directives) {
      const cfg = d.config;
      const id = blockId(d.at);
      if (counts(cfg) && !shared(cfg) && !fresh.has(id)) fresh.set(id, new LocalCounters(cfg));
    }
    const blocks = before ? carryOver(before.blocks, fresh) : fresh;
    return blocks.size ? new CountersBroker(brokerSocket(ctx.runDir), blocks, ctx.log) : undefined;
  }

  async close(): Promise<void> {
    this.link?.close();
  }

  /** sourceOf says where a block's counters live: the store, the master (in a worker), or the unit itself. */
  private sourceOf(cfg: LimitConfig): CountersSource | undefined {
    if (shared(cfg)) return (_local, at) => this.storeCounters(cfg, at);
    return this.proc.role === 'worker' ? (local, at) => this.countersOf(local, at) : undefined;
  }

  /** storeCounters connects to the global store (once per process, for every block and feature). */
  private async storeCounters(cfg: LimitConfig, at: Span): Promise<Counters> {
    if (!this.store.settings) {
      throw new GateError(
        'GK_CONFIG_INVALID',
        `${at.file}:${at.line}:${at.col}: 'limit { store shared }' needs a store: add global { store redis://HOST:PORT }`,
      );
    }
    const lease = await this.store.open();
    await lease.ready(STORE_READY);
    return new StoreCounters(lease, zoneOf(cfg, at), cfg, cfg.on_store_error === 'deny' ? 'deny' : 'allow', this.log.child({ plugin: this.name }));
  }

  /** countersOf connects this worker to the master's counters (once); a block keeps `local` for when the master cannot answer. */
  private async countersOf(local: LocalCounters, at: Span): Promise<Counters> {
    const link = (this.link ??= new BrokerLink(brokerSocket(this.proc.runDir), this.log.child({ plugin: this.name })));
    return (await link.open()) ? new SharedCounters(link, blockId(at), local) : local;
  }
}
