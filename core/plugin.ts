import type { Span } from '../dsl/ast.js';
import type { Diagnostic } from '../dsl/diagnostics.js';
import type { Address, ConfigOf, DirectiveKind, DirectiveSpec } from '../dsl/schema.js';
import type { Ctx } from './context.js';
import type { Logger } from './logger.js';
import type { ProcessSpec, Supervised } from './process/supervisor.js';
import type { UnitReport } from './report.js';
import type { MasterControl } from './process/master-control.js';

/** Next runs the rest of the chain (the next middleware, then the handler). */
export type Next = () => Promise<void>;

/**
 * DONE is what handle() returns when it has answered before returning: the kernel then ends
 * the request at once, without a promise reaction and a microtask for every request.
 */
export const DONE: Promise<void> = Promise.resolve();

/** VariableSpec declares a request variable a plugin provides (`$upstream`), set with ctx.vars. */
export interface VariableSpec {
  readonly name: string;
  readonly doc: string;
}

/**
 * Plugin is a class registered in the container. It declares the directives it owns, and
 * makes one Unit per occurrence of those directives in a .gate file: through the factory
 * bound to each directive (`bind(spec, factory)`), or else through its own create(). Constructors
 * must be free of side effects: `gatekit check` builds plugins only to read their schemas.
 */
export interface Plugin {
  /** name is the plugin's folder name (or package name, for third-party plugins). */
  readonly name: string;
  readonly directives: readonly PluginDirective[];
  /** requires names plugins that must be loaded too; checked at load. */
  readonly requires?: readonly string[];
  /** variables lists the request variables this plugin sets. */
  readonly variables?: readonly VariableSpec[];
  /**
   * create makes the unit for an occurrence of a directive that has no factory of its own
   * (a plain-JavaScript plugin's way); `config` is already schema-checked, defaults applied.
   */
  create?(directive: string, config: unknown, at: Span, place: UnitPlace): AnyUnit;
  /** close releases what the plugin itself holds (units close first). */
  close?(): Promise<void>;
  /**
   * master, when present, runs in the master process (in the single process with
   * `workers 0`) once per config generation, before the workers start: the place to run
   * and supervise processes of the plugin's own, such as an application pool the
   * workers talk to. It gets every occurrence of the plugin's directives.
   */
  master?(directives: readonly MasterDirective[], ctx: MasterContext): MasterPart | undefined;
  /** certificates, when present, describes the certificates the plugin obtains for its directives (`gatekit certs`). */
  certificates?(directives: readonly MasterDirective[]): CertificateReport[];
  /**
   * resident, when present, makes the plugin's part that lives as long as the master, across
   * reloads (an admin API that must answer while one runs): it is made once, told each config
   * served through update(), and stopped when the master stops.
   */
  resident?(ctx: ResidentContext): Resident;
  /**
   * readsTraffic tells that the plugin reads the workers' traffic counts (requests by route and
   * status class, durations, bytes: WorkerStats.traffic). Workers count only when the config
   * uses a directive of such a plugin: a server nobody asks pays nothing per request for them.
   */
  readonly readsTraffic?: boolean;
}

/** ResidentContext is what a plugin's resident part may use. */
export interface ResidentContext {
  readonly log: Logger;
  /** control is the master: its state, its workers' numbers, reloads. */
  readonly control: MasterControl;
}

/** Resident is a plugin's part that lives as long as the master; it may declare its directives' config type (`Resident<AdminConfig>`). */
export interface Resident<C = unknown> {
  /** update applies the plugin's directives of the config now served (none when it has none); a throw at start stops the master. */
  update(directives: readonly MasterDirective<C>[]): Promise<void>;
  stop(): Promise<void>;
}

/** CertificateReport is one managed certificate as `gatekit certs` shows it; times are epoch ms. */
export interface CertificateReport {
  readonly names: readonly string[];
  /** where says where it is kept (a storage folder) and from which CA. */
  readonly where: string;
  readonly issuer?: string;
  readonly expires?: number;
  readonly nextRenewal?: number;
  readonly lastError?: string;
}

/** UnitOf is the unit a directive of kind K makes: handlers and middleware handle requests, a certificate source gives TLS. */
export type UnitOf<K extends DirectiveKind> = K extends 'handler' | 'middleware' ? HandlerUnit : K extends 'certificate' ? CertificateUnit : Unit;

/** Factory makes the unit of one occurrence of directive D from its checked, typed config. */
export type Factory<D extends DirectiveSpec> = (config: ConfigOf<D>, at: Span, place: UnitPlace) => UnitOf<D['kind']>;

/** PluginDirective is a directive a plugin owns: its spec, with the factory of its units when bound. */
export type PluginDirective = DirectiveSpec & { readonly create?: (config: never, at: Span, place: UnitPlace) => AnyUnit };

/** Bound is a directive spec with the factory of its units (see bind). */
export type Bound<D extends DirectiveSpec> = D & { readonly create: Factory<D> };

/**
 * bind gives a directive spec the factory of its units, so the factory receives
 * `ConfigOf<typeof spec>` (nested options typed too) with no cast:
 * `readonly directives = [bind(redirect, (cfg, at) => new RedirectUnit(cfg, at))]`.
 */
export function bind<const D extends DirectiveSpec>(spec: D, create: Factory<D>): Bound<D> {
  return { ...spec, create };
}

/** UnitPlace says where a directive occurrence sits: its server block's names, for server-scoped units. */
export interface UnitPlace {
  readonly server?: { readonly names: readonly string[]; readonly span: Span };
  /**
   * listens are every `listen` of the config, each with the names of its server: for units whose
   * work depends on how clients reach the server (an ACME CA checking a challenge).
   */
  readonly listens?: readonly ListenPlace[];
  /** store tells whether the config has `global { store }`, for units that opt in to it (`check` reports one that needs it). */
  readonly store?: boolean;
}

/** ListenPlace is one `listen` of a config: its address, whether it is TLS, and its server's names. */
export interface ListenPlace {
  readonly address: Address;
  readonly tls: boolean;
  readonly names: readonly string[];
}

/** MasterDirective is one occurrence of a plugin's directive, as the master sees it. */
export interface MasterDirective<C = unknown> {
  readonly directive: string;
  /** config is the checked config; a plugin with one directive may declare its type (`MasterDirective<LimitConfig>`). */
  readonly config: C;
  readonly at: Span;
  /** place is where it sits, as create() is told. */
  readonly place: UnitPlace;
}

/** MasterContext is what a plugin's master part may use. */
export interface MasterContext {
  readonly log: Logger;
  /** generation counts config loads (reloads) from 1; a reload runs a new part beside the old. */
  readonly generation: number;
  /** runDir is the generation's private folder (mode 0700), the same as its workers' ProcessInfo.runDir. */
  readonly runDir: string;
  /** supervise starts a process and keeps it alive (restart with backoff, output to the log). */
  supervise(spec: ProcessSpec): Supervised;
  /**
   * previous is this plugin's part of the generation a reload replaces (it runs until that
   * generation's workers are gone): the way to carry state over, such as counters.
   */
  readonly previous?: MasterPart;
}

/** MasterPart is a plugin's work in the master for one generation. */
export interface MasterPart {
  /** start resolves when the part is ready for workers (e.g. the pool listens); a throw fails the boot or reload. */
  start?(): Promise<void>;
  /** stop ends it, within `timeout` ms; called once the generation's workers are gone. */
  stop(timeout: number): Promise<void>;
}

/**
 * Unit is one configured occurrence of a directive: what every kind of unit may have.
 * Lifecycle: create → validate → provision → handle… → close; units close in reverse order,
 * also after a failed provision. Server and global directives make a plain Unit; handlers and
 * middleware a HandlerUnit; certificate sources a CertificateUnit.
 */
export interface Unit {
  /** validate reports cross-field problems a schema cannot express (run by `check` too). */
  validate?(): Diagnostic[];
  /** provision acquires per-worker resources (pools, timers, files); keep it fast. */
  provision?(): Promise<void>;
  /** reopen reopens files the unit writes (USR1, after logrotate moved them). */
  reopen?(): void | Promise<void>;
  /** close releases everything; idempotent, and safe after a failed provision. */
  close?(): Promise<void>;
  /** report gives the unit's live state for the admin API: its upstreams, its application pool. */
  report?(): UnitReport;
  /** drainUpstream takes upstream `id` out of rotation (requests in flight finish), or back in; it tells whether the unit has it. */
  drainUpstream?(id: string, drained: boolean): boolean;
}

/** HandlerUnit is the unit of a handler or middleware directive: it serves requests. */
export interface HandlerUnit extends Unit {
  /**
   * handle serves a request. Handlers answer and never call next(); middleware calls
   * next() at most once, before or around its own work. Resolves when the response is done;
   * returns DONE when it answered synchronously.
   */
  handle(ctx: Ctx, next: Next): Promise<void>;
  /**
   * upgrades lists the protocols a handler takes over with ctx.takeUpgrade() (lowercase
   * Upgrade tokens: 'websocket'). A request is an upgrade (ctx.upgrade set) only when it
   * carries no body and names exactly one of its route handler's protocols; any other request
   * with an Upgrade header is an ordinary one, its body framed as HTTP/1.1 frames it, on a
   * connection that closes after its answer.
   */
  readonly upgrades?: readonly string[];
}

/** CertificateUnit is the unit of a certificate source (`tls`): it gives its server's certificate. */
export interface CertificateUnit extends Unit {
  /** tls gives the certificate for the server's `listen ... tls` addresses; called after provision. */
  tls(): TlsProvider | Promise<TlsProvider>;
}

/** AnyUnit is a unit of any kind, as the kernel holds it (a plain-JavaScript plugin's units are checked when made). */
export type AnyUnit = Unit & Partial<HandlerUnit> & Partial<CertificateUnit>;

/** TlsProvider supplies TLS settings for one server block (its hostnames share them). */
export interface TlsProvider {
  /** options are passed to tls.createSecureContext (cert, key, minVersion...). */
  readonly options: import('node:tls').SecureContextOptions;
  /** headers are added to every HTTPS response of the server (e.g. Strict-Transport-Security). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * watch, when present, is called once with `update`, which the provider calls when its
   * certificate changes (a renewal): handshakes from then on get the new options, connections
   * already open keep theirs. No reload, no dropped connection.
   */
  watch?(update: (options: import('node:tls').SecureContextOptions) => void): void;
  /**
   * http01 answers an ACME HTTP-01 challenge (RFC 8555 8.3): the key authorization for `token`
   * when it is pending for `host`, else undefined. The kernel asks it on plain-HTTP listeners,
   * for /.well-known/acme-challenge/TOKEN, before any route (a `redirect https` included).
   */
  http01?(host: string, token: string): string | undefined;
  /**
   * tlsAlpn01 gives the certificate that answers an ACME TLS-ALPN-01 challenge (RFC 8737) for
   * `servername` when one is pending: the kernel serves it to a handshake that offers only the
   * `acme-tls/1` protocol, and closes that connection once the handshake is done.
   */
  tlsAlpn01?(servername: string): import('node:tls').SecureContextOptions | undefined;
  /**
   * ocsp gives the OCSP response (DER) to staple for `certificate` (DER) when it is this
   * provider's and it has a current one, else undefined. Called during handshakes that ask for
   * certificate status: it answers from memory, at once.
   */
  ocsp?(certificate: Buffer): Buffer | undefined;
}

/** PluginClass is what a plugin module exports: a class the container can build. */
export type PluginClass = (new (...args: never[]) => Plugin) & { inject?: readonly symbol[] };

export type { Diagnostic, DirectiveSpec, Span };
