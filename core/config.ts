import type { Checked } from '../dsl/check.js';
import type { Span } from '../dsl/ast.js';
import { error, type Diagnostic } from '../dsl/diagnostics.js';
import type { Address, Config, DirectiveKind } from '../dsl/schema.js';
import type { ListenConfig } from './kernel-schema.js';
import type { Plugin } from './plugin.js';
import type { PluginRegistry } from './registry.js';
import { SettingsBuilder } from './settings.js';
import type { StoreSettings } from './store/shared-store.js';

/** ServerRef names the server block a unit sits in. */
export interface ServerRef {
  readonly names: readonly string[];
  readonly span: Span;
}

/** UnitDecl is one plugin directive occurrence, ready to become a Unit. */
export interface UnitDecl {
  readonly plugin: Plugin;
  readonly directive: string;
  readonly kind: DirectiveKind;
  readonly config: Config;
  readonly span: Span;
  /** server is the server block the directive sits in (none for global directives). */
  readonly server?: ServerRef;
}

/** Matcher is how a route matches a path. */
export type Matcher =
  | { readonly kind: 'exact'; readonly path: string }
  | { readonly kind: 'regex'; readonly regex: RegExp; readonly source: string }
  | { readonly kind: 'prefix'; readonly prefix: string };

/** RouteDecl is a `route` block (or a server's implicit catch-all). */
export interface RouteDecl {
  readonly matcher: Matcher;
  readonly span: Span;
  readonly middleware: readonly UnitDecl[];
  readonly handler?: UnitDecl;
  readonly children: readonly RouteDecl[];
}

/** ListenDecl is one `listen` of a server. */
export interface ListenDecl {
  readonly address: Address;
  readonly tls: boolean;
  /** h2c: cleartext HTTP/2 (prior knowledge or Upgrade) beside HTTP/1.1. */
  readonly h2c: boolean;
  /** http2: a tls address offers h2 by ALPN for this server (the listen line's http2, else the server's, else on). */
  readonly http2: boolean;
  readonly span: Span;
}

/** ServerDecl is a `server` block: a virtual host. */
export interface ServerDecl {
  readonly names: readonly string[];
  readonly span: Span;
  readonly listens: readonly ListenDecl[];
  /** units are server-kind and certificate-kind plugin directives (tls...). */
  readonly units: readonly UnitDecl[];
  readonly middleware: readonly UnitDecl[];
  readonly routes: readonly RouteDecl[];
}

/** GlobalSettings are the kernel's process settings. */
export interface GlobalSettings {
  readonly workers: number | 'auto';
  readonly gracefulTimeout: number;
  readonly pid?: string;
  readonly user?: { readonly name: string; readonly group?: string };
  readonly maxRequests: number;
  readonly maxRequestsJitter: number;
  readonly workerTimeout: number;
  readonly keepaliveTimeout: number;
  /** sendTimeout closes a connection whose client accepts no byte of a response for this long (ms; 0 = never). */
  readonly sendTimeout: number;
  readonly headerTimeout: number;
  readonly requestTimeout: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** errorLog is where the error log goes: 'stderr', 'stdout' or an absolute file path. */
  readonly errorLog: string;
  /** store is the shared store (`store redis://...`), when there is one. */
  readonly store?: StoreSettings;
  /** http2MaxStreams is SETTINGS_MAX_CONCURRENT_STREAMS on every HTTP/2 connection. */
  readonly http2MaxStreams: number;
  /** http2MaxHeaderSize is SETTINGS_MAX_HEADER_LIST_SIZE, in bytes. */
  readonly http2MaxHeaderSize: number;
}

/** GateConfig is a loaded, checked configuration: what a worker runs. */
export interface GateConfig {
  readonly file: string;
  readonly global: GlobalSettings;
  /** globalUnits are global-kind plugin directives. */
  readonly globalUnits: readonly UnitDecl[];
  readonly servers: readonly ServerDecl[];
}

/** ModelBuilder turns the checked tree into a GateConfig, with the rules no schema can say. */
export class ModelBuilder {
  /** faulty holds the units whose own directive had errors: they take their place in the model, but are never made. */
  readonly faulty = new Set<UnitDecl>();
  /** troubled holds the servers with an error inside: a missing certificate there may be its echo (a misspelled `tls`). */
  readonly troubled = new Set<ServerDecl>();

  constructor(
    private readonly registry: PluginRegistry,
    private readonly diags: Diagnostic[],
  ) {}

  build(file: string, tree: readonly Checked[]): GateConfig {
    this.earlier = new ErrorPlaces(this.diags);
    const settings = new SettingsBuilder();
    const globalUnits: UnitDecl[] = [];
    const servers: ServerDecl[] = [];
    for (const c of tree) {
      if (c.name === 'server') servers.push(this.server(c));
      else
        for (const g of c.children ?? []) {
          if (settings.take(g)) continue;
          const u = this.unit(g);
          if (u) globalUnits.push(u);
        }
    }
    checkListeners(servers, this.diags);
    return { file, global: settings.finish(this.diags), globalUnits, servers };
  }

  /** inServer is the server block being built, so its units can name it. */
  private inServer: ServerRef | undefined;

  private unit(c: Checked): UnitDecl | undefined {
    const plugin = this.registry.owner(c.name)?.plugin;
    if (!plugin) return undefined;
    const base = { plugin, directive: c.name, kind: c.spec.kind, config: c.config, span: c.span };
    const u = this.inServer ? { ...base, server: this.inServer } : base;
    if (!c.clean) this.faulty.add(u);
    return u;
  }

  private server(c: Checked): ServerDecl {
    const names = (c.config.hostname as string[]).map((n) => n.toLowerCase());
    this.inServer = { names, span: c.span };
    try {
      return this.serverBody(c, names);
    } finally {
      this.inServer = undefined;
    }
  }

  private serverBody(c: Checked, names: string[]): ServerDecl {
    const since = this.diags.length;
    c.args.forEach((a, i) => {
      if (!/^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.?$/.test(names[i]) && !/^\[?[0-9a-f:.]+\]?$/.test(names[i])) {
        this.diags.push(
          error('GK_CONFIG_BAD_HOSTNAME', `invalid hostname '${a.value}'`, a.span, 'a hostname like example.com, or a wildcard like *.example.com'),
        );
      }
    });
    const listens: ListenDecl[] = [];
    const units: UnitDecl[] = [];
    const kids = c.children ?? [];
    const serverHttp2 = kids.find((k) => k.name === 'http2')?.config.enabled as boolean | undefined;
    for (const k of kids) {
      if (k.name === 'listen') {
        const l = k.config as ListenConfig;
        const o = listenOptions(l.options ?? [], k, this.diags);
        if (l.address) listens.push({ address: l.address, tls: o.mode === 'tls', h2c: o.mode === 'h2c', http2: o.http2 ?? serverHttp2 ?? true, span: k.span });
      } else if (k.name === 'http2') {
        continue;
      } else if ((k.spec.kind === 'server' || k.spec.kind === 'certificate') && k.name !== 'route') {
        const u = this.unit(k);
        if (u) units.push(u);
      }
    }
    this.oneCertificate(units);
    const body = this.routeBody(kids, undefined, c.span, 'server');
    const quiet = this.reportedInside(c, since);
    if (listens.length === 0 && !quiet) this.diags.push(error('GK_CONFIG_NO_LISTEN', "server has no 'listen'", c.span, 'add one: listen 8080'));
    const routes = [...body.routes];
    if (body.handler) {
      const clash = routes.find((r) => r.matcher.kind === 'prefix' && r.matcher.prefix === '/');
      if (clash)
        this.diags.push(
          error(
            'GK_CONFIG_DUPLICATE_ROUTE',
            "route '/' clashes with the handler written directly in the server",
            clash.span,
            `a handler in a server block is its catch-all route '/' (at ${body.handler.span.line}:${body.handler.span.col}); keep one`,
          ),
        );
      else routes.push({ matcher: { kind: 'prefix', prefix: '/' }, span: body.handler.span, middleware: [], handler: body.handler, children: [] });
    }
    if (routes.length === 0 && !quiet)
      this.diags.push(error('GK_CONFIG_NO_HANDLER', 'server has no routes and no handler', c.span, `add a route, or a handler such as: respond 200 "ok"`));
    const server = { names, span: c.span, listens, units, middleware: body.middleware, routes };
    if (quiet) this.troubled.add(server);
    return server;
  }

  /** oneCertificate reports a second certificate source in a server (`tls` and another): which one would it serve? */
  private oneCertificate(units: readonly UnitDecl[]): void {
    const [first, ...more] = units.filter((u) => u.kind === 'certificate');
    for (const u of more) {
      this.diags.push(
        error(
          'GK_CONFIG_TWO_CERTIFICATES',
          `server has two certificate sources: '${first.directive}' and '${u.directive}'`,
          u.span,
          `a server has one certificate source ('${first.directive}' at ${first.span.line}:${first.span.col}); keep one`,
        ),
      );
    }
  }

  /** routeBody sorts a server or route block's children into middleware, one handler and routes. */
  private routeBody(kids: readonly Checked[], parent: Matcher | undefined, at: Span, what: string) {
    const middleware: UnitDecl[] = [];
    const routes: RouteDecl[] = [];
    let handler: UnitDecl | undefined;
    for (const k of kids) {
      if (k.name === 'route') {
        const r = this.route(k, parent);
        if (r) routes.push(r);
        continue;
      }
      if (k.spec.kind !== 'handler' && k.spec.kind !== 'middleware') continue;
      const u = this.unit(k);
      if (!u) continue;
      if (u.kind === 'middleware') middleware.push(u);
      else if (handler) {
        this.diags.push(
          error(
            'GK_CONFIG_TWO_HANDLERS',
            `${what} has two handlers: '${handler.directive}' and '${u.directive}'`,
            k.span,
            `a ${what} has exactly one handler ('${handler.directive}' at ${handler.span.line}:${handler.span.col}); put the other in its own route`,
          ),
        );
      } else handler = u;
    }
    this.duplicateRoutes(routes);
    void at;
    return { middleware, routes, handler };
  }

  private route(c: Checked, parent: Matcher | undefined): RouteDecl | undefined {
    const since = this.diags.length;
    const matcher = this.matcher(c, parent);
    if (!matcher) return undefined;
    const label = matcherText(matcher);
    const body = this.routeBody(c.children ?? [], matcher, c.span, `route '${label}'`);
    if (!body.handler && body.routes.length === 0 && !this.reportedInside(c, since)) {
      this.diags.push(
        error(
          'GK_CONFIG_NO_HANDLER',
          `route '${label}' has no handler`,
          c.span,
          `add one handler, e.g. respond, static, proxy or redirect (\`gatekit plugins\` lists them)`,
        ),
      );
    }
    if (matcher.kind === 'exact' && body.routes.length) {
      this.diags.push(
        error('GK_CONFIG_BAD_NESTING', `exact route '${label}' cannot hold nested routes`, body.routes[0].span, 'nest routes inside a prefix route'),
      );
    }
    return { matcher, span: c.span, middleware: body.middleware, handler: body.handler, children: body.routes };
  }

  private matcher(c: Checked, parent: Matcher | undefined): Matcher | undefined {
    const { op, pattern } = c.config as { op?: string; pattern?: string };
    if (pattern === undefined) return undefined;
    const at = c.args[c.args.length - 1].span;
    if (op === '~') {
      try {
        return { kind: 'regex', regex: new RegExp(pattern), source: pattern };
      } catch (e) {
        this.diags.push(
          error(
            'GK_DSL_BAD_ARG',
            `invalid regular expression '${pattern}' for 'route'`,
            at,
            `expected a valid regular expression (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`,
          ),
        );
        return undefined;
      }
    }
    if (!pattern.startsWith('/')) {
      this.diags.push(
        error(
          'GK_DSL_BAD_ARG',
          `invalid route path '${pattern}'`,
          at,
          op ? "a path starting with '/'" : "a path starting with '/', or '= /path', or '~ REGEX'",
        ),
      );
      return undefined;
    }
    if (parent?.kind === 'prefix' && !pattern.startsWith(parent.prefix)) {
      this.diags.push(
        error(
          'GK_CONFIG_BAD_NESTING',
          `route '${pattern}' lies outside its parent route '${parent.prefix}'`,
          at,
          `a nested route's path is absolute and must start with '${parent.prefix}'`,
        ),
      );
    }
    return op === '=' ? { kind: 'exact', path: pattern } : { kind: 'prefix', prefix: pattern };
  }

  /** earlier are the errors found before the model was built (syntax, expansion, schemas). */
  private earlier = new ErrorPlaces([]);

  /**
   * reportedInside tells whether an error was already reported inside a block (or in a snippet
   * or file it brings in): a missing listen or handler is then most likely its echo, not news.
   * `since` is the number of diagnostics when the block's model began: any added since are its own.
   */
  private reportedInside(c: Checked, since: number): boolean {
    return this.diags.length > since || this.earlier.within(c.span, c.directive.endLine);
  }

  private duplicateRoutes(routes: readonly RouteDecl[]): void {
    const seen = new Map<string, Span>();
    for (const r of routes) {
      const k = `${r.matcher.kind}:${matcherText(r.matcher)}`;
      const first = seen.get(k);
      if (first)
        this.diags.push(
          error('GK_CONFIG_DUPLICATE_ROUTE', `duplicate route '${matcherText(r.matcher)}'`, r.span, `first declared at ${first.line}:${first.col}`),
        );
      else seen.set(k, r.span);
    }
  }
}

const before = (a: Span, b: Span): boolean => a.line < b.line || (a.line === b.line && a.col < b.col);

/**
 * ErrorPlaces holds where errors were reported (each place an include or import brought them
 * from, too), sorted per file, so that a config with 100k errors is not searched once per block.
 */
class ErrorPlaces {
  private readonly byFile = new Map<string, Span[]>();

  constructor(diags: readonly Diagnostic[]) {
    for (const d of diags) {
      if (d.severity !== 'error') continue;
      for (let s: Span | undefined = d.span; s; s = s.includedFrom) {
        const list = this.byFile.get(s.file) ?? [];
        if (!list.length) this.byFile.set(s.file, list);
        list.push(s);
      }
    }
    for (const list of this.byFile.values()) list.sort((a, b) => a.line - b.line || a.col - b.col);
  }

  /** within tells whether an error lies from `start` to the end of line `endLine` of its file. */
  within(start: Span, endLine: number): boolean {
    const list = this.byFile.get(start.file);
    if (!list) return false;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(list[mid], start)) lo = mid + 1;
      else hi = mid;
    }
    return lo < list.length && list[lo].line <= endLine;
  }
}

/** matcherText renders a matcher as written: '= /x', '~ ^/a$', '/prefix/'. */
export function matcherText(m: Matcher): string {
  return m.kind === 'exact' ? `= ${m.path}` : m.kind === 'regex' ? `~ ${m.source}` : m.prefix;
}

/**
 * listenOptions reads the words after a listen address: `tls` or `h2c`, then `http2 on|off`
 * (tls only); a word out of place gets a diagnostic at it.
 */
function listenOptions(words: readonly string[], k: Checked, diags: Diagnostic[]): { mode?: 'tls' | 'h2c'; http2?: boolean } {
  const out: { mode?: 'tls' | 'h2c'; http2?: boolean } = {};
  const at = (i: number): Span => k.args[i + 1]?.span ?? k.span;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === undefined) continue; // refused by the schema already
    if ((w === 'tls' || w === 'h2c') && i === 0) {
      out.mode = w;
      continue;
    }
    if (w === 'http2' && out.http2 === undefined) {
      const next = words[i + 1];
      out.http2 = next !== 'off';
      if (next === 'on' || next === 'off') i++;
      if (out.mode !== 'tls') {
        diags.push(
          error(
            'GK_CONFIG_LISTEN_HTTP2',
            "'http2' on a listen line needs tls",
            at(i),
            out.mode === 'h2c' ? 'an h2c address always speaks HTTP/2 beside HTTP/1.1; leave http2 out' : 'for cleartext HTTP/2, write: listen ADDR h2c',
          ),
        );
      }
      continue;
    }
    diags.push(error('GK_DSL_BAD_ARG', `unexpected '${w}' in 'listen'`, at(i), 'usage: listen ADDRESS [tls | h2c] [http2 on|off]'));
  }
  return out;
}

/** addressKey identifies a listening address: servers with the same key share a listener. */
export function addressKey(a: Address): string {
  if (a.kind === 'unix') return `unix:${a.path}`;
  const host = a.host === undefined || a.host === '0.0.0.0' || a.host === '::' ? '*' : a.host.toLowerCase();
  return `${host}:${a.port}`;
}

function checkListeners(servers: readonly ServerDecl[], diags: Diagnostic[]): void {
  const byAddr = new Map<string, { tls: boolean; h2c: boolean; span: Span; defaultAt?: Span; names: Map<string, Span> }>();
  for (const s of servers) {
    for (const l of s.listens) {
      const key = addressKey(l.address);
      let g = byAddr.get(key);
      if (!g) byAddr.set(key, (g = { tls: l.tls, h2c: l.h2c, span: l.span, names: new Map() }));
      else if (g.tls !== l.tls) {
        diags.push(
          error(
            'GK_CONFIG_LISTEN_CONFLICT',
            `address '${l.address.text}' is listed both with and without tls`,
            l.span,
            `first listed ${g.tls ? 'with' : 'without'} tls at ${g.span.file}:${g.span.line}:${g.span.col}`,
          ),
        );
      } else if (g.h2c !== l.h2c) {
        diags.push(
          error(
            'GK_CONFIG_LISTEN_CONFLICT',
            `address '${l.address.text}' is listed both with and without h2c`,
            l.span,
            `first listed ${g.h2c ? 'with' : 'without'} h2c at ${g.span.file}:${g.span.line}:${g.span.col}; an address speaks one set of protocols`,
          ),
        );
      }
      if (s.names.length === 0) {
        if (g.defaultAt)
          diags.push(
            error(
              'GK_CONFIG_LISTEN_CONFLICT',
              `two default servers listen on '${l.address.text}'`,
              l.span,
              `the other is at ${g.defaultAt.file}:${g.defaultAt.line}:${g.defaultAt.col}; give one of them a hostname`,
            ),
          );
        else g.defaultAt = l.span;
      }
      for (const n of s.names) {
        const first = g.names.get(n);
        if (first)
          diags.push(
            error(
              'GK_CONFIG_LISTEN_CONFLICT',
              `hostname '${n}' is served twice on '${l.address.text}'`,
              l.span,
              `the other server is at ${first.file}:${first.line}:${first.col}`,
            ),
          );
        else g.names.set(n, l.span);
      }
    }
  }
}
