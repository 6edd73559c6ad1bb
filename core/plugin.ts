import type { Span } from '../dsl/ast.js';
import type { Diagnostic } from '../dsl/diagnostics.js';
import type { DirectiveSpec } from '../dsl/schema.js';
import type { Ctx } from './context.js';

/** Next runs the rest of the chain (the next middleware, then the handler). */
export type Next = () => Promise<void>;

/** VariableSpec declares a request variable a plugin provides (`$upstream`), set with ctx.vars. */
export interface VariableSpec {
  readonly name: string;
  readonly doc: string;
}

/**
 * Plugin is a class registered in the container. It declares the directives it owns, and
 * makes one Unit per occurrence of those directives in a .gate file. Constructors must be
 * free of side effects: `gatekit check` builds plugins only to read their schemas.
 */
export interface Plugin {
  /** name is the plugin's folder name (or package name, for third-party plugins). */
  readonly name: string;
  readonly directives: readonly DirectiveSpec[];
  /** requires names plugins that must be loaded too; checked at load. */
  readonly requires?: readonly string[];
  /** variables lists the request variables this plugin sets. */
  readonly variables?: readonly VariableSpec[];
  /** create makes the unit for one directive occurrence; `config` is already schema-checked. */
  create(directive: string, config: unknown, at: Span): Unit;
  /** close releases what the plugin itself holds (units close first). */
  close?(): Promise<void>;
}

/**
 * Unit is one configured occurrence of a directive. Lifecycle: create → validate →
 * provision → handle… → close; units close in reverse order, also after a failed provision.
 */
export interface Unit {
  /** validate reports cross-field problems a schema cannot express (run by `check` too). */
  validate?(): Diagnostic[];
  /** provision acquires per-worker resources (pools, timers, files); keep it fast. */
  provision?(): Promise<void>;
  /**
   * handle serves a request. Handlers answer and never call next(); middleware calls
   * next() at most once, before or around its own work. Resolves when the response is done.
   */
  handle?(ctx: Ctx, next: Next): Promise<void>;
  /** tls gives the certificate for a server-kind unit's server on `listen ... tls` addresses. */
  tls?(): TlsProvider;
  /** close releases everything; idempotent, and safe after a failed provision. */
  close?(): Promise<void>;
}

/** TlsProvider supplies TLS settings for one server block (its hostnames share them). */
export interface TlsProvider {
  /** options are passed to tls.createSecureContext (cert, key, minVersion...). */
  readonly options: import('node:tls').SecureContextOptions;
  /** headers are added to every response of the server (e.g. Strict-Transport-Security). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** PluginClass is what a plugin module exports: a class the container can build. */
export type PluginClass = (new (...args: never[]) => Plugin) & { inject?: readonly symbol[] };

export type { Diagnostic, DirectiveSpec, Span };
