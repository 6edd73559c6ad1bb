import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { DependencyContainer } from 'tsyringe';
import { compose, type Handle } from '../core/compose.js';
import type { GateConfig, RouteDecl, ServerDecl, UnitDecl } from '../core/config.js';
import { resolvePlugins, workerContainer } from '../core/container.js';
import { Ctx } from '../core/context.js';
import { answerError, logFailure } from '../core/error-response.js';
import { HttpError } from '../core/errors.js';
import { HostNames, hostLines } from '../core/host-header.js';
import { TextLogger, type Logger } from '../core/logger.js';
import type { AnyUnit as Unit, Plugin } from '../core/plugin.js';
import { ServerRouting } from '../core/redispatch.js';
import { framingError } from '../core/request-framing.js';
import { cleanPath } from '../core/request-path.js';
import { GateResponse } from '../core/response.js';
import { Router } from '../core/router.js';
import { makeUnit } from '../core/units.js';
import { hostOf, VirtualHosts } from '../core/vhosts.js';
import type { TestRequest } from './expectations.js';
import { sendOver, type Reply } from './test-client.js';

/**
 * RUNNABLE are the plugins whose answers a test computes for real: they need no application,
 * upstream or log file. Other handlers are stood in for by one that reads the request body and
 * answers 200 (what their application would say is not the config's business); other
 * middleware is passed through.
 */
const RUNNABLE = new Set(['respond', 'redirect', 'static', 'auth', 'headers', 'limit', 'compress']);

/** Served says which route and handler served a request, and the routes it passed on the way (internal redirects). */
export interface Served {
  readonly route?: RouteDecl;
  readonly handler?: string;
  readonly via: readonly RouteDecl[];
}

/** Answer is what a test request got: the reply, where it was served, and what the server logged meanwhile. */
export interface Answer extends Reply {
  readonly served: Served;
  readonly logged: readonly string[];
}

interface Runtime {
  readonly router: Router;
  readonly routing: ServerRouting;
}
/** Listener is what a connection arrives on: its scheme and port, and the servers there. */
interface Listener {
  readonly scheme: 'http' | 'https';
  readonly port: number;
  readonly hosts: VirtualHosts<Runtime>;
}

/**
 * OfflineGate serves the requests of a checked config as `gatekit run` would, from an HTTP
 * server that never listens: a test hands it in-memory connections. Each expectation gets
 * fresh units (`limit` counters, `auth` failure counts), so expectations do not depend on
 * one another; the plugins, and their thread pools, are made once.
 */
export class OfflineGate {
  private readonly plugins: ReadonlyMap<string, Plugin>;
  private readonly logged: string[] = [];
  private readonly log: Logger;

  constructor(
    private readonly config: GateConfig,
    scope: DependencyContainer,
  ) {
    this.log = new TextLogger((line) => this.logged.push(line.replace(/^\S+ /, '')), 'info');
    const c = workerContainer(scope, {
      logger: this.log,
      // one process (role single): no master to share a run folder with
      process: {
        pid: process.pid,
        role: 'single',
        workerId: 0,
        generation: 1,
        get runDir(): string {
          throw new Error('no run folder: gatekit test runs in-process');
        },
      },
    });
    this.plugins = new Map(resolvePlugins(c).map((p) => [p.name, p]));
  }

  /** run serves `r` on fresh units, `times` times one after the other, and returns the last answer. */
  async run(r: TestRequest, times: number): Promise<Answer> {
    const site = new OfflineSite(this.config, this.plugins, this.log);
    try {
      await site.provision();
      let answer: Answer | undefined;
      for (let i = 0; i < times; i++) {
        this.logged.length = 0;
        answer = await site.send(r);
      }
      return { ...answer!, logged: [...this.logged] };
    } finally {
      await site.close();
    }
  }

  /** close releases the plugins (auth's hashing threads). */
  async close(): Promise<void> {
    for (const p of this.plugins.values()) await p.close?.();
  }
}

/** OfflineSite is one set of units for a config, with its servers' routing, as a worker holds them. */
class OfflineSite {
  private readonly units: Unit[] = [];
  private readonly server: Server;
  private readonly hostNames = new HostNames();
  private readonly listeners: Listener[] = [];
  /** byConnection says, per in-memory connection, what it arrived on and where its request was served. */
  private readonly byConnection = new WeakMap<object, { listener: Listener; served: Served }>();

  constructor(
    private readonly config: GateConfig,
    private readonly plugins: ReadonlyMap<string, Plugin>,
    private readonly log: Logger,
  ) {
    for (const s of config.servers) this.addServer(s, this.runtime(s));
    this.server = createServer({ ServerResponse: GateResponse }, (req, res) => this.serve(req, res));
  }

  async provision(): Promise<void> {
    for (const u of this.units) await u.provision?.();
  }

  async close(): Promise<void> {
    for (const u of this.units.reverse()) await u.close?.();
  }

  /** send sends `r` to the listener its scheme and port name: the one with that port, else any of that scheme. */
  async send(r: TestRequest): Promise<Answer> {
    const listener =
      this.listeners.find((l) => l.scheme === r.scheme && l.port === r.port) ?? this.listeners.find((l) => l.scheme === r.scheme) ?? this.listeners[0];
    const served = { via: [] };
    let socket: Duplex | undefined;
    const reply = await sendOver(this.server, r, (s) => {
      socket = s;
      this.byConnection.set(s, { listener: { ...listener, port: r.port }, served });
    });
    return { ...reply, served: this.byConnection.get(socket!)!.served, logged: [] };
  }

  /** runtime builds a server's router and routing as a worker does, with stand-ins for what needs an application. */
  private runtime(s: ServerDecl): Runtime {
    const made = new Map<UnitDecl, Unit>();
    const unitOf = (d: UnitDecl): Unit => made.get(d) ?? made.set(d, this.unit(d)).get(d)!;
    const chain = (mw: readonly UnitDecl[], r: RouteDecl): Handle => {
      if (!r.handler) return () => Promise.reject(new HttpError(404));
      const handle = compose(mw.map(unitOf), unitOf(r.handler));
      return (ctx) => {
        this.reached(ctx.req, r);
        return handle(ctx);
      };
    };
    const router = Router.build(s.routes, s.middleware, chain);
    return { router, routing: new ServerRouting(router, unitOf, chain) };
  }

  private unit(d: UnitDecl): Unit {
    if (!RUNNABLE.has(d.plugin.name)) return d.kind === 'handler' ? STAND_IN : PASS;
    const u = makeUnit(this.plugins.get(d.plugin.name)!, d, this.config);
    this.units.push(u);
    return u;
  }

  /** addServer puts a server on the listeners of its `listen` lines (a tcp port each, or a scheme). */
  private addServer(s: ServerDecl, rt: Runtime): void {
    const ends = s.listens.length
      ? s.listens.map((l) => ({ scheme: l.tls ? ('https' as const) : ('http' as const), port: l.address.kind === 'tcp' ? l.address.port : 0 }))
      : [{ scheme: 'http' as const, port: 80 }];
    for (const e of ends) {
      let l = this.listeners.find((x) => x.scheme === e.scheme && x.port === e.port);
      if (!l) this.listeners.push((l = { ...e, hosts: new VirtualHosts() }));
      l.hosts.add(s.names, rt);
    }
  }

  /** reached records that the chain of route `r` serves the request (first, or after an internal redirect). */
  private reached(req: IncomingMessage, r: RouteDecl): void {
    const at = this.byConnection.get(req.socket)!;
    const was = at.served;
    if (was.route === r) return;
    at.served = { route: r, handler: r.handler?.directive, via: was.route ? [...was.via, was.route] : was.via };
  }

  /** serve does what a worker's gate does with a request that arrives (see Gate.onRequest), on the routing of the server its Host names. */
  private serve(req: IncomingMessage, res: ServerResponse): void {
    const { listener } = this.byConnection.get(req.socket)!;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const hostHeader = req.headers.host;
    const named = hostHeader === undefined ? '' : this.hostNames.read(hostHeader);
    const badHost = named === undefined || hostLines(req.rawHeaders) > 1;
    const rt = listener.hosts.pick(badHost ? '' : named);
    const clean = cleanPath(rawPath);
    const ctx = new Ctx(
      req,
      res,
      { scheme: listener.scheme, port: listener.port },
      (badHost ? '' : named) || hostOf(req.socket.localAddress),
      clean.ok ? clean.path : rawPath,
      rawPath,
      q < 0 ? '' : url.slice(q + 1),
      this.log,
      rt.routing,
    );
    ctx.authority = hostHeader;
    const m = clean.ok && !badHost ? rt.router.match(clean.path) : undefined;
    if (m) this.byConnection.get(req.socket)!.served = { route: m.entry.decl, ...(m.addSlash ? {} : { handler: m.entry.decl.handler?.directive }), via: [] };
    const refused =
      framingError(req) ??
      (!clean.ok
        ? new HttpError(400, `bad request path: ${clean.reason}`, { expose: true })
        : badHost
          ? new HttpError(400, 'bad Host header', { expose: true })
          : undefined);
    if (refused) {
      answerError(ctx, refused.status, refused);
      return;
    }
    let done: Promise<void>;
    try {
      done = rt.routing.serve(ctx);
    } catch (e) {
      fail(ctx, e);
      return;
    }
    done.then(
      () => {
        if (!res.headersSent && !res.writableEnded) fail(ctx, new Error('the handler finished without sending a response'));
      },
      (e: unknown) => fail(ctx, e),
    );
  }
}

/** fail answers a handler's error as the gate does: HttpError as its status, anything else 500, with its log line. */
function fail(ctx: Ctx, e: unknown): void {
  const http = e instanceof HttpError ? e : undefined;
  const status = http?.status ?? 500;
  logFailure(ctx, e, status);
  if (ctx.res.headersSent) ctx.res.destroy();
  else answerError(ctx, status, http);
}

/** PASS stands in for middleware that needs what a test does not have (a log file, a cache store). */
const PASS: Unit = { handle: (_ctx, next) => next() };

/** STAND_IN stands in for a handler that needs an application or upstream: it reads the body, as one would, and answers 200. */
const STAND_IN: Unit = {
  handle: async (ctx) => {
    await finished(ctx.body.resume());
    await ctx.send(200, '');
  },
};
