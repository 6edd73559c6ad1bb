import type { Loaded } from '../load.js';
import { routeFor, type RouteAnswer } from '../route-for.js';
import type { MasterSnapshot } from './master-machine.js';
import type { ReloadVerdict } from './master.js';
import type { ToMaster, ToWorker } from './protocol.js';
import type { WorkerStats } from './worker-stats.js';

/** ASK_TIMEOUT_MS bounds how long the master waits for a worker's answer (a busy or stuck worker is left out). */
const ASK_TIMEOUT_MS = 1000;
/** KEPT_RELOADS is how many reload verdicts the master remembers for /status. */
const KEPT_RELOADS = 10;

/** DiagnosticReport is a config diagnostic as JSON: where, how bad, what. */
export interface DiagnosticReport {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly severity: string;
  readonly code: string;
  readonly message: string;
  readonly help?: string;
}

/** ReloadReport is how one reload ended, as the admin API shows it. */
export interface ReloadReport {
  /** at is when the config was read (ms since the epoch). */
  readonly at: number;
  readonly outcome: ReloadVerdict['outcome'];
  readonly reason?: string;
  readonly diagnostics: readonly DiagnosticReport[];
}

/** MasterStatus is the master's own state: its config, generations, workers and last reloads. */
export interface MasterStatus extends MasterSnapshot {
  readonly pid: number;
  readonly startedAt: number;
  readonly file: string;
  readonly reloadHistory: readonly ReloadReport[];
  /** reloadCounts counts reloads by how they ended. */
  readonly reloadCounts: Readonly<Record<ReloadVerdict['outcome'], number>>;
}

/**
 * MasterControl is what the master offers a plugin that serves an admin API (through
 * MasterContext.control): its state, its workers' numbers, reloads and upstream drains.
 */
export interface MasterControl {
  /** status is the master's state now. */
  status(): MasterStatus;
  /** workerStats asks every running worker for its numbers; a worker that does not answer within a second is left out. */
  workerStats(): Promise<WorkerStats[]>;
  /** reload reads the config file again (or serves `text` as its main file) and resolves with the verdict. */
  reload(text?: string): Promise<ReloadReport>;
  /** configText is the main config file's text in force. */
  configText(): { readonly file: string; readonly text: string };
  /** drainUpstream takes upstream `id` out of rotation in every worker, or back in; it resolves with how many workers have it. */
  drainUpstream(id: string, drained: boolean): Promise<number>;
  /** route says which server, route and handler would serve `path` on `host`. */
  route(host: string, path: string): RouteAnswer;
}

/** MasterAccess is what the control needs of the master that owns it. */
export interface MasterAccess {
  readonly file: string;
  snapshot(): MasterSnapshot;
  send(id: number, message: ToWorker): void;
  /** reload starts a reload; `files` replace files on disk for it (POST /config). */
  reload(files?: ReadonlyMap<string, string>): void;
  /** serving is the config in force. */
  serving(): Loaded;
}

type Answer = Extract<ToMaster, { req: number }>;

/** diagnosticsOf turns a config's diagnostics into JSON. */
export function diagnosticsOf(loaded: Loaded): DiagnosticReport[] {
  return loaded.diagnostics.map((d) => ({
    file: d.span.file,
    line: d.span.line,
    column: d.span.col,
    severity: d.severity,
    code: d.code,
    message: d.message,
    ...(d.help === undefined ? {} : { help: d.help }),
  }));
}

/** Control is the master's MasterControl: it asks workers over the protocol and matches their answers. */
export class Control implements MasterControl {
  private readonly startedAt = Date.now();
  private readonly waiting = new Map<number, (m: Answer) => void>();
  private readonly reloads: { readonly since: number; readonly done: (r: ReloadReport) => void }[] = [];
  private readonly history: ReloadReport[] = [];
  private readonly counts = { reloaded: 0, refused: 0, failed: 0 };
  /** drained are the upstreams drained through drainUpstream: a worker that starts later is told too. */
  private readonly drained = new Set<string>();
  private nextReq = 1;

  constructor(private readonly m: MasterAccess) {}

  /** answered takes a worker's answer; it tells whether the message was one. */
  answered(message: ToMaster): boolean {
    if (message.t !== 'stats' && message.t !== 'upstream-done') return false;
    this.waiting.get(message.req)?.(message);
    return true;
  }

  /** verdict records how a reload ended and answers those who asked for it before its config was read. */
  verdict(v: ReloadVerdict): void {
    const r: ReloadReport = { at: v.at, outcome: v.outcome, ...(v.reason === undefined ? {} : { reason: v.reason }), diagnostics: diagnosticsOf(v.loaded) };
    this.counts[v.outcome]++;
    this.history.unshift(r);
    this.history.length = Math.min(this.history.length, KEPT_RELOADS);
    for (let i = this.reloads.length - 1; i >= 0; i--) {
      if (this.reloads[i].since > v.at) continue;
      this.reloads[i].done(r);
      this.reloads.splice(i, 1);
    }
  }

  status(): MasterStatus {
    return {
      ...this.m.snapshot(),
      pid: process.pid,
      startedAt: this.startedAt,
      file: this.m.file,
      reloadHistory: [...this.history],
      reloadCounts: { ...this.counts },
    };
  }

  async workerStats(): Promise<WorkerStats[]> {
    const answers = await this.askAll((req) => ({ t: 'stats', req }));
    return answers.flatMap((a) => (a.t === 'stats' ? [a.stats] : []));
  }

  reload(text?: string): Promise<ReloadReport> {
    return new Promise((done) => {
      this.reloads.push({ since: Date.now(), done });
      this.m.reload(text === undefined ? undefined : new Map([[this.m.file, text]]));
    });
  }

  configText(): { file: string; text: string } {
    const loaded = this.m.serving();
    return { file: loaded.file, text: loaded.sources.get(loaded.file) ?? '' };
  }

  async drainUpstream(id: string, drained: boolean): Promise<number> {
    const answers = await this.askAll((req) => ({ t: 'upstream', req, id, drained }));
    const found = answers.filter((a) => a.t === 'upstream-done' && a.found).length;
    if (found && drained) this.drained.add(id);
    if (!drained) this.drained.delete(id);
    return found;
  }

  /** workerReady tells a worker that has just become ready (a replacement, a new generation) which upstreams are drained. */
  workerReady(id: number): void {
    for (const upstream of this.drained) this.m.send(id, { t: 'upstream', req: 0, id: upstream, drained: true }); // req 0: no one waits for the answer
  }

  route(host: string, path: string): RouteAnswer {
    return routeFor(this.m.serving().config!, host, path);
  }

  /** askAll sends a question to every ready or draining worker and gathers the answers that come in time. */
  private askAll(question: (req: number) => ToWorker): Promise<Answer[]> {
    const ids = this.m
      .snapshot()
      .workers.filter((w) => w.state !== 'booting')
      .map((w) => w.id);
    return Promise.all(
      ids.map(
        (id) =>
          new Promise<Answer | undefined>((resolve) => {
            const req = this.nextReq++;
            const timer = setTimeout(() => {
              this.waiting.delete(req);
              resolve(undefined);
            }, ASK_TIMEOUT_MS);
            this.waiting.set(req, (a) => {
              clearTimeout(timer);
              this.waiting.delete(req);
              resolve(a);
            });
            this.m.send(id, question(req));
          }),
      ),
    ).then((all) => all.filter((a): a is Answer => a !== undefined));
  }
}
