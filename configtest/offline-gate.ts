import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DependencyContainer } from 'tsyringe';
import { compose, type Handle } from '../core/compose.js';
import type { GateConfig, RouteDecl, ServerDecl, UnitDecl } from '../core/config.js';
import { resolvePlugins, workerContainer } from '../core/container.js';
import { Ctx } from '../core/context.js';
import { answerError } from '../core/error-response.js';
import { HttpError } from '../core/errors.js';
import { HostNames } from '../core/host-header.js';
import { silentLogger } from '../core/logger.js';
import type { Plugin, Unit } from '../core/plugin.js';
import { cleanPath } from '../core/request-path.js';
import { GateResponse } from '../core/response.js';
import { Router, type RouteEntry } from '../core/router.js';
import { addSlash } from '../core/slash-redirect.js';
import { makeUnit } from '../core/units.js';
import { VirtualHosts } from '../core/vhosts.js';
import { socketPair } from './socket-pair.js';

/**
 * RUNNABLE are the plugins whose answers a test computes for real: they need no application,
 * upstream or log file. Other handlers are stood in for by one that answers 200 (what their
 * application would say is not the config's business); other middleware is passed through.
 */
const RUNNABLE = new Set(['respond', 'redirect', 'static', 'auth', 'headers', 'limit', 'compress']);

/** Served says which route and handler a request reached (none when no route matched). */
export interface Served {
  readonly route?: RouteEntry;
  readonly handler?: string;
}

/** Answer is what a test request got: status, headers, and where it was served. */
export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly served: Served;
}

/** SCHEME_HEADER carries a test request's scheme to the gate, as a TLS listener would know it. */
const SCHEME_HEADER = 'x-gatekit-test-scheme';

interface Runtime { readonly decl: ServerDecl; readonly router: Router }

/**
 * OfflineGate serves requests of a checked config through its real router and real units,
 * from an HTTP server that never listens: a test hands it in-memory connections.
 */
export class OfflineGate {
  readonly server: Server;
  private readonly units: Unit[] = [];
  /** served is keyed by connection: each test request has its own. */
  private readonly served = new WeakMap<object, Served>();
  private readonly hostNames = new HostNames();
  private readonly byScheme: Record<'http' | 'https', VirtualHosts<Runtime>> = { http: new VirtualHosts(), https: new VirtualHosts() };

  constructor(private readonly config: GateConfig, scope: DependencyContainer) {
    const c = workerContainer(scope, {
      logger: silentLogger,
      // one process (role single): no master to share a run folder with
      process: { pid: process.pid, role: 'single', workerId: 0, generation: 1, get runDir(): string { throw new Error('no run folder: gatekit test runs in-process'); } },
    });
    const plugins = new Map(resolvePlugins(c).map((p) => [p.name, p]));
    for (const s of config.servers) {
      const rt = { decl: s, router: Router.build(s.routes, s.middleware, (mw, r) => this.chain(plugins, mw, r)) };
      const schemes = new Set<'http' | 'https'>(s.listens.map((l) => (l.tls ? 'https' : 'http')));
      for (const scheme of schemes.size ? schemes : ['http' as const]) this.byScheme[scheme].add(s.names, rt);
    }
    this.server = createServer({ ServerResponse: GateResponse }, (req, res) => this.serve(req, res));
  }

  /** provision readies the units that run (a static root is opened, an auth file read). */
  async provision(): Promise<void> {
    for (const u of this.units) await u.provision?.();
  }

  /** close releases the units. */
  async close(): Promise<void> {
    for (const u of this.units.reverse()) await u.close?.();
  }

  /** request sends one request over an in-memory connection, through Node's HTTP client and server. */
  request(method: string, url: URL): Promise<Answer> {
    const [client, server] = socketPair();
    this.server.emit('connection', server);
    return new Promise((resolve, reject) => {
      const req = request({
        method, path: url.pathname + url.search, createConnection: () => client as never,
        headers: { host: url.host, [SCHEME_HEADER]: url.protocol === 'https:' ? 'https' : 'http', connection: 'close' },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, served: this.served.get(server) ?? {} }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  private chain(plugins: ReadonlyMap<string, Plugin>, mw: readonly UnitDecl[], r: RouteDecl): Handle {
    if (!r.handler) return () => Promise.reject(new HttpError(404));
    const made = (d: UnitDecl): Unit => { const u = makeUnit(plugins.get(d.plugin.name)!, d, this.config); this.units.push(u); return u; };
    const handler = RUNNABLE.has(r.handler.plugin.name) ? made(r.handler) : { handle: (ctx: Ctx) => ctx.send(200, '') };
    return compose(mw.filter((d) => RUNNABLE.has(d.plugin.name)).map(made), handler);
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const scheme = req.headers[SCHEME_HEADER] === 'https' ? 'https' : 'http';
    const hosts = this.byScheme[scheme].defaultServer ? this.byScheme[scheme] : this.byScheme.http;
    const host = this.hostNames.read(req.headers.host ?? '') ?? '';
    const clean = cleanPath(url.pathname);
    const ctx = new Ctx(req, res, { scheme, port: scheme === 'https' ? 443 : 80 }, host, clean.ok ? clean.path : url.pathname, url.pathname, url.search.slice(1), silentLogger);
    const m = hosts.pick(host).router.match(ctx.path);
    const served: Served = m ? { route: m.entry, ...(m.addSlash ? {} : { handler: m.entry.decl.handler?.directive }) } : {};
    this.served.set(req.socket, served);
    if (!m) { answerError(ctx, 404); return; }
    if (m.addSlash) { void addSlash(ctx, m.entry); return; }
    ctx.mount = m.entry.mount;
    ctx.captures = m.captures;
    m.entry.handle(ctx).then(undefined, (e: unknown) => answerError(ctx, e instanceof HttpError ? e.status : 500, e instanceof HttpError ? e : undefined));
  }
}
