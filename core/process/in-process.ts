import type { ProcessInfo } from '../container.js';
import { Gate, type BoundAddress } from '../gate.js';
import type { Loaded } from '../load.js';
import type { Logger } from '../logger.js';
import type { MasterInput } from './master-events.js';
import type { WorkerHost } from './master.js';
import type { ToMaster, ToWorker } from './protocol.js';
import { dropPrivileges } from './privileges.js';
import { ProcessProbe } from './worker-stats.js';

/** Running is the in-process worker: its gate once started, and how to close it if asked before. */
interface Running {
  readonly generation: number;
  gate?: Gate;
  closeWithin?: number;
}

function urlOf(a: BoundAddress): string {
  if (a.path) return `unix:${a.path}`;
  const host = a.host === '::' || a.host === '0.0.0.0' ? '127.0.0.1' : a.host?.includes(':') ? `[${a.host}]` : a.host;
  return `${a.tls ? 'https' : 'http'}://${host}:${a.port}`;
}

/**
 * InProcessWorker is the one worker of `workers 0`: the Gate, run in the master's own
 * process, so the same master serves it. A drain or a kill closes the gate (once it has
 * started, if it is still starting); it has exited when the gate has closed.
 */
export class InProcessWorker implements WorkerHost {
  readonly mode = 'single';
  private readonly running = new Map<number, Running>();
  private input: (i: MasterInput<Loaded>) => void = () => {};
  private readonly probe = new ProcessProbe();

  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  open(input: (i: MasterInput<Loaded>) => void): void {
    this.input = input;
  }

  fork(id: number, _slot: number, generation: number, runDir: string, loaded: Loaded): number {
    const r: Running = { generation };
    this.running.set(id, r);
    void this.boot(id, r, { pid: process.pid, role: 'single', workerId: 0, generation, runDir }, loaded);
    return process.pid;
  }

  private async boot(id: number, r: Running, proc: ProcessInfo, loaded: Loaded): Promise<void> {
    try {
      r.gate = await Gate.start(loaded, { logger: this.log, process: proc });
      dropPrivileges(loaded.config!.global, this.log);
    } catch (e) {
      await r.gate?.close(0);
      this.running.delete(id);
      this.input({ kind: 'message', id, message: { t: 'boot-failed', error: (e as Error).message } });
      this.input({ kind: 'exit', id, code: 1, signal: null });
      return;
    }
    if (r.closeWithin !== undefined) {
      this.shut(id, r.closeWithin);
      return;
    }
    for (const a of r.gate.addresses()) this.log.info('listening', { url: urlOf(a), config: this.file });
    this.input({ kind: 'message', id, message: { t: 'ready' } });
  }

  configure(): void {} // it has its config from the start

  send(id: number, message: ToWorker): void {
    const gate = this.running.get(id)?.gate;
    if (message.t === 'drain') this.shut(id, message.timeout);
    else if (message.t === 'reopen') void gate?.reopen();
    else if (message.t === 'stats' && gate) this.answer(id, { t: 'stats', req: message.req, stats: this.probe.stats(gate, this.running.get(id)!.generation) });
    else if (message.t === 'upstream')
      this.answer(id, { t: 'upstream-done', req: message.req, found: gate?.drainUpstream(message.id, message.drained) ?? false });
  }

  /** answer passes the gate's answer on as a worker's message, after the caller's turn (as over IPC). */
  private answer(id: number, message: ToMaster): void {
    setImmediate(() => this.input({ kind: 'message', id, message }));
  }

  kill(id: number): void {
    this.shut(id, 0);
  }

  private shut(id: number, timeout: number): void {
    const r = this.running.get(id);
    if (!r) return;
    if (!r.gate) {
      r.closeWithin ??= timeout;
      return;
    } // still starting: closed once it has
    this.running.delete(id);
    void r.gate.close(timeout).then(() => this.input({ kind: 'exit', id, code: 0, signal: null }));
  }

  close(): void {
    this.probe.stop();
  } // nothing left to pass on: every gate has closed
}
