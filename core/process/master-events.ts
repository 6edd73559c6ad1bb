// What goes into the master's state machine (master-machine.ts) and what comes out of it.
// Inputs are events: a worker spoke or exited, a signal came, time passed, async work ended.
// Outputs are plain data the adapter (master.ts) performs: it owns no decision.
// `C` is a loaded config: opaque to the machine, handed back in outputs.

import type { Fields } from '../logger.js';
import type { ToMaster, ToWorker } from './protocol.js';

/** GenerationSettings are what the master reads from one config: its workers and timeouts. */
export interface GenerationSettings {
  /** workers is how many to run (`auto` already resolved; 0 or less runs one). */
  readonly workers: number;
  readonly gracefulTimeout: number;
  /** workerTimeout: kill a ready worker silent this long (plus a grace); 0 turns it off. */
  readonly workerTimeout: number;
}

/** MasterInput is an event the master's state machine reacts to. */
export type MasterInput<C> =
  /** start: serve `config` (already checked) as the first generation. */
  | { readonly kind: 'start'; readonly config: C; readonly settings: GenerationSettings }
  /** forked: the worker of fork `id` runs as process `pid`. */
  | { readonly kind: 'forked'; readonly id: number; readonly pid: number }
  /** message: worker `id` said something (hello, ready, boot-failed, beat, recycle). */
  | { readonly kind: 'message'; readonly id: number; readonly message: ToMaster }
  /** exit: worker `id` has exited, with `code` or killed by `signal`. */
  | { readonly kind: 'exit'; readonly id: number; readonly code: number | null; readonly signal: string | null }
  /** reload: HUP; read the config again (queued while a start or a reload runs). */
  | { readonly kind: 'reload' }
  /** config-loaded: the config read for a reload checks; `settings` are its own. */
  | { readonly kind: 'config-loaded'; readonly config: C; readonly settings: GenerationSettings }
  /** config-refused: the config read for a reload has errors. */
  | { readonly kind: 'config-refused'; readonly config: C }
  /** parts-started: the plugins' master parts of `generation` run. */
  | { readonly kind: 'parts-started'; readonly generation: number }
  /** parts-failed: they could not start (those that had are stopped again); `error` says why. */
  | { readonly kind: 'parts-failed'; readonly generation: number; readonly error: string }
  /** parts-stopped: the master parts of `generation` have stopped. */
  | { readonly kind: 'parts-stopped'; readonly generation: number }
  /** resize: TTIN (+1) or TTOU (-1) one worker. */
  | { readonly kind: 'resize'; readonly delta: 1 | -1 }
  /** reopen: USR1; every worker reopens its log files. */
  | { readonly kind: 'reopen' }
  /** stop: TERM/INT drain within graceful_timeout; `fast` (QUIT) at once. */
  | { readonly kind: 'stop'; readonly fast: boolean; readonly signal: string }
  /** tick: time passed; kill what overstayed, restart what waited out its backoff. */
  | { readonly kind: 'tick' };

/** VerdictOutcome is how a reload ended. */
export type VerdictOutcome = 'reloaded' | 'refused' | 'failed';

/** MasterOutput is something the master's state machine asks its adapter to do. */
export type MasterOutput<C> =
  /** fork: start worker `id` for `slot` of `generation` (answer with `forked`, later `exit`). */
  | { readonly kind: 'fork'; readonly id: number; readonly slot: number; readonly generation: number; readonly config: C }
  /** configure: send worker `id` (of `slot`) the config of its generation (the files the master checked). */
  | { readonly kind: 'configure'; readonly id: number; readonly slot: number; readonly generation: number; readonly config: C }
  /** send: send worker `id` a message. */
  | { readonly kind: 'send'; readonly id: number; readonly message: ToWorker }
  /** kill: kill worker `id` at once. */
  | { readonly kind: 'kill'; readonly id: number; readonly signal: 'SIGKILL' }
  /** log: write one line to the error log. */
  | { readonly kind: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly msg: string; readonly fields: Fields }
  /** diagnostics: log every diagnostic of `config`, one line each. */
  | { readonly kind: 'diagnostics'; readonly config: C }
  /** load-config: read and check the config file again (answer `config-loaded` or `config-refused`). */
  | { readonly kind: 'load-config' }
  /** start-parts: start the master parts of `generation`; `previous` is the generation it takes over from. */
  | { readonly kind: 'start-parts'; readonly generation: number; readonly config: C; readonly previous?: number }
  /** stop-parts: stop the master parts of `generation` within `timeout` ms (answer `parts-stopped`). */
  | { readonly kind: 'stop-parts'; readonly generation: number; readonly timeout: number }
  /** verdict: a reload asked for before `at` (when its config was read) ended so. */
  | { readonly kind: 'verdict'; readonly at: number; readonly outcome: VerdictOutcome; readonly config: C; readonly reason?: string }
  /** exit: nothing runs any more: exit 0, or 3 with `failure` on stderr. */
  | { readonly kind: 'exit'; readonly failure?: string };
