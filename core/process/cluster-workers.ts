import cluster, { type Worker } from 'node:cluster';
import { removeStaleSocket } from '../listeners.js';
import type { Loaded } from '../load.js';
import type { MasterInput } from './master-events.js';
import type { WorkerHost } from './master.js';
import type { ToMaster, ToWorker } from './protocol.js';
import { ROLE_ENV } from './protocol.js';

/**
 * ClusterWorkers runs the master's workers as processes forked by node:cluster (`workers N`),
 * which share the listening sockets. GATEKIT_SCHEDULING=rr hands connections out round-robin
 * from the master instead of letting the workers race for them.
 */
export class ClusterWorkers implements WorkerHost {
  readonly mode = 'prefork';
  private readonly byId = new Map<number, Worker>();
  private readonly ids = new Map<Worker, number>();
  private off = (): void => {};

  constructor(private readonly file: string) {}

  open(input: (i: MasterInput<Loaded>) => void, first: Loaded): void {
    cluster.schedulingPolicy = process.env.GATEKIT_SCHEDULING === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
    cluster.setupPrimary({ args: process.argv.slice(2), silent: false });
    const onMessage = (w: Worker, message: ToMaster): void => {
      const id = this.ids.get(w);
      if (id !== undefined) input({ kind: 'message', id, message });
    };
    const onExit = (w: Worker, code: number | null, signal: string | null): void => {
      const id = this.ids.get(w);
      if (id === undefined) return;
      this.ids.delete(w);
      this.byId.delete(id);
      input({ kind: 'exit', id, code, signal });
    };
    cluster.on('message', onMessage);
    cluster.on('exit', onExit);
    this.off = () => {
      cluster.off('message', onMessage);
      cluster.off('exit', onExit);
    };
    for (const s of first.config!.servers) for (const l of s.listens) if (l.address.kind === 'unix') removeStaleSocket(l.address.path);
  }

  fork(id: number): number {
    const w = cluster.fork({ [ROLE_ENV]: 'worker' });
    this.ids.set(w, id);
    this.byId.set(id, w);
    return w.process.pid ?? 0;
  }

  configure(id: number, slot: number, generation: number, runDir: string, loaded: Loaded): void {
    const files = loaded.sources.files().map((f) => [f, loaded.sources.get(f)!] as [string, string]);
    this.send(id, { t: 'config', file: this.file, files, generation, runDir, workerId: slot });
  }

  send(id: number, message: ToWorker): void {
    // A worker whose channel has closed is on its way out; the master's deadlines cover the rest.
    this.byId.get(id)?.send(message, undefined, () => {});
  }

  kill(id: number): void {
    this.byId.get(id)?.process.kill('SIGKILL');
  }

  close(): void {
    this.off();
  }
}
