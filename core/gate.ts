import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { SecureContext, SecureContextOptions, SecureVersion, Server as TlsServer, TLSSocket } from 'node:tls';
import { answerHttp01 } from './acme-challenge.js';
import { addressKey, matcherText, type GateConfig, type ServerDecl, type UnitDecl } from './config.js';
import { compose, type Handle } from './compose.js';
import { resolvePlugins, workerContainer, type ProcessInfo } from './container.js';
import { Ctx, type ConnInfo, type Upgrade } from './context.js';
import { answerError, CLIENT_CLOSED, clientGone, logClientClosed, logFailure } from './error-response.js';
import { GateError, HttpError } from './errors.js';
import { closeListener } from './listener-drain.js';
import { listenerAddress } from './listen-pool.js';
import { listenerFloor, openListener, secureContextOf } from './listeners.js';
import type { Loaded } from './load.js';
import type { Logger } from './logger.js';
import { DONE, type AnyUnit as Unit, type Plugin, type TlsProvider } from './plugin.js';
import { cleanPath } from './request-path.js';
import { GateResponse } from './response.js';
import { ServerRouting } from './redispatch.js';
import type { UnitReport } from './report.js';
import { Router, type RouteEntry } from './router.js';
import { Traffic, type RouteTally, type TrafficCounts } from './traffic.js';
import { makeUnit } from './units.js';
import { hostOf, VirtualHosts } from './vhosts.js';
import { GateH2Request } from './http2-request.js';
import { HostNames, hostLines } from './host-header.js';
import { framingError, hasBody } from './request-framing.js';
import { afterLastServed, servedPlain, servePlain } from './upgrade-request.js';

/** CTX links a response to its request's Ctx, for an error found by the parser while a handler runs. */
const CTX = Symbol('gatekit.ctx');
type Answering = ServerResponse & { [CTX]?: Ctx };

/** ServerRuntime is a server block, live: its router and, once provisioned, its TLS. */
interface ServerRuntime {
  readonly decl: ServerDecl;
  readonly router: Router;
  /** routing serves the server's requests, those that arrive and those routed again. */
  readonly routing: ServerRouting;
  readonly own: readonly Unit[];
  /** units are the server's units by declaration (a route's handler, to ask what it can upgrade). */
  readonly units: ReadonlyMap<UnitDecl, Unit>;
  /** httpsHeaders are added to every HTTPS response (HSTS). */
  httpsHeaders: readonly [string, string][];
  /** unrouted counts the server's requests no route served (each route's tally is told by routing). */
  readonly unrouted: RouteTally;
  tls?: { readonly context: SecureContext; readonly options: SecureContextOptions };
  /** provider is what gave `tls`: it may renew it, and answer ACME challenges. */
  provider?: TlsProvider;
}

/** StartOptions are what a worker needs besides the loaded config. */
export interface StartOptions {
  readonly logger: Logger;
  /** process says which process this is, and its generation's run folder. */
  readonly process: ProcessInfo;
  /** onDispatch is called as each request arrives, before routing (request counting, the watchdog). */
  readonly onDispatch?: (ctx: Ctx) => void;
}

/** BoundAddress is a listener's address once open (the real port when 0 was asked). */
export interface BoundAddress {
  readonly key: string;
  readonly tls: boolean;
  readonly host?: string;
  readonly port?: number;
  readonly path?: string;
}

/**
 * Gate is one worker's running configuration: units provisioned, routers built, listeners
 * open. Requests flow listener → server (Host) → route → chain, each step in one place.
 */
export class Gate {
  private readonly units: Unit[] = [];
  private readonly listeners: { server: Server; key: string; tls: boolean; defaults?: ServerRuntime; floor?: SecureVersion }[] = [];
  /** http01 are the providers that answer ACME HTTP-01 challenges on plain-HTTP listeners. */
  private readonly http01: TlsProvider[] = [];
  private readonly tunnels = new Set<Duplex>();
  private plugins = new Map<string, Plugin>();
  private closed = false;
  private readonly onDispatch: ((ctx: Ctx) => void) | undefined;
  private readonly hostNames = new HostNames();
  /** refusedBodies are requests refuseBody answered while their handler ran on. */
  private readonly refusedBodies = new WeakSet<Ctx>();
  private readonly counts = new Traffic();

  private constructor(
    readonly config: GateConfig,
    private readonly log: Logger,
    o: StartOptions,
  ) {
    this.onDispatch = o.onDispatch;
  }

  /** start provisions every unit and opens the listeners; on failure it releases what it took and throws. */
  static async start(loaded: Loaded, o: StartOptions): Promise<Gate> {
    if (!loaded.config) throw new GateError('GK_CONFIG_INVALID', `${loaded.file} has errors; run gatekit check`);
    const gate = new Gate(loaded.config, o.logger, o);
    try {
      await gate.boot(loaded, o);
    } catch (e) {
      await gate.close(0);
      throw e;
    }
    return gate;
  }

  private async boot(loaded: Loaded, o: StartOptions): Promise<void> {
    const c = workerContainer(loaded.scope, {
      logger: o.logger,
      process: o.process,
      store: this.config.global.store,
    });
    this.plugins = new Map(resolvePlugins(c).map((p) => [p.name, p]));
    for (const u of this.config.globalUnits) this.unit(u);
    const runtimes = this.config.servers.map((s) => this.server(s));
    for (const u of this.units) await u.provision?.();
    for (const rt of runtimes) await this.secure(rt);
    await this.listen(runtimes);
  }

  private unit(d: UnitDecl): Unit {
    const p = this.plugins.get(d.plugin.name)!;
    if (p.readsTraffic) this.counts.on = true;
    const u = makeUnit(p, d, this.config);
    this.units.push(u);
    return u;
  }

  private server(s: ServerDecl): ServerRuntime {
    const made = new Map<UnitDecl, Unit>();
    const unitOf = (d: UnitDecl): Unit => made.get(d) ?? made.set(d, this.unit(d)).get(d)!;
    const own = s.units.map(unitOf);
    const chain = (mw: readonly UnitDecl[], r: { handler?: UnitDecl }): Handle =>
      r.handler ? compose(mw.map(unitOf), unitOf(r.handler)) : () => Promise.reject(new HttpError(404));
    const router = Router.build(s.routes, s.middleware, chain);
    const label = serverLabel(s);
    const tallies = new Map(router.entries.map((e) => [e, this.counts.route(label, matcherText(e.matcher))]));
    const routed = (e: RouteEntry): void => {
      if (this.counts.on) this.counts.routed(tallies.get(e)!);
    };
    return {
      decl: s,
      router,
      routing: new ServerRouting(router, unitOf, chain, routed),
      own,
      units: made,
      httpsHeaders: [],
      unrouted: this.counts.route(label, ''),
    };
  }

  /** secure asks the server's units for its certificate, once they are provisioned. */
  private async secure(rt: ServerRuntime): Promise<void> {
    for (const u of rt.own) {
      if (!u.tls) continue;
      const p = await u.tls();
      rt.tls = { context: secureContextOf(p.options), options: p.options };
      rt.httpsHeaders = Object.entries(p.headers ?? {});
      rt.provider = p;
      if (p.http01) this.http01.push(p);
      p.watch?.((options) => this.renewed(rt, options));
      return;
    }
  }

  /**
   * renewed swaps in a server's new certificate: SNI picks it from now on, and a listener it is
   * the default server of gets it for clients that send no name. Open connections keep theirs.
   */
  private renewed(rt: ServerRuntime, options: SecureContextOptions): void {
    if (this.closed) return;
    rt.tls = { context: secureContextOf(options), options };
    for (const l of this.listeners) if (l.defaults === rt) (l.server as unknown as TlsServer).setSecureContext({ ...options, minVersion: l.floor });
    this.log.info('certificate updated', { server: rt.decl.names.join(' ') || '(default)' });
  }

  private async listen(runtimes: readonly ServerRuntime[]): Promise<void> {
    const groups = new Map<
      string,
      {
        tls: boolean;
        h2c: boolean;
        address: ServerDecl['listens'][number]['address'];
        hosts: VirtualHosts<ServerRuntime>;
        servers: ServerRuntime[];
        h2: Map<ServerRuntime, boolean>;
      }
    >();
    for (const rt of runtimes) {
      for (const l of rt.decl.listens) {
        const key = addressKey(l.address);
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { tls: l.tls, h2c: l.h2c, address: l.address, hosts: new VirtualHosts(), servers: [], h2: new Map() }));
        g.hosts.add(rt.decl.names, rt);
        g.servers.push(rt);
        g.h2.set(rt, l.tls && l.http2);
        if (l.tls && !rt.tls) {
          throw new GateError(
            'GK_LISTEN',
            `${l.span.file}:${l.span.line}:${l.span.col}: 'listen ${l.address.text} tls' needs a certificate: add a tls { cert ...; key ... } block to the server`,
          );
        }
      }
    }
    for (const [key, g] of groups) {
      // one ConnInfo per listener, shared by its requests; the port is known once it listens
      const conn: { scheme: 'http' | 'https'; port: number } = { scheme: g.tls ? 'https' : 'http', port: g.address.kind === 'tcp' ? g.address.port : 0 };
      const pick = (name: string): ServerRuntime => (name ? g.hosts.pick(name.toLowerCase()) : g.hosts.defaultServer);
      const tls = g.tls
        ? {
            context: (name: string) => pick(name).tls!.context,
            defaults: g.hosts.defaultServer.tls!.options,
            minVersion: (name: string) => pick(name).tls!.options.minVersion,
            floor: listenerFloor(g.servers.map((rt) => rt.tls!.options.minVersion)),
            ...(g.servers.some((rt) => rt.provider?.tlsAlpn01) ? { alpn01: (name: string) => alpn01(pick(name), name) } : {}),
            ...(g.servers.some((rt) => rt.provider?.ocsp) ? { ocsp: (cert: Buffer) => stapleFor(g.servers, cert) } : {}),
          }
        : undefined;
      const offersH2 = (name: string): boolean => g.h2.get(pick(name)) === true;
      const http2 =
        g.h2c || [...g.h2.values()].includes(true)
          ? { h2c: g.h2c, offersH2, limits: { maxStreams: this.config.global.http2MaxStreams, maxHeaderList: this.config.global.http2MaxHeaderSize } }
          : undefined;
      const server = await openListener(
        {
          address: g.address,
          ...(tls ? { tls } : {}),
          ...(http2 ? { http2 } : {}),
          onRequest: (req, res) => this.onRequest(req, res, g.hosts, conn),
          onUpgrade: (req, socket, head) => this.onUpgrade(req, socket, head, g.hosts, conn),
          takesUpgrade: (req) => this.takesUpgrade(req, g.hosts),
          onBadBody: (res, status, reason) => this.refuseBody(res, status, reason),
        },
        this.config.global,
        this.log,
      );
      if (g.address.kind === 'tcp') conn.port = (listenerAddress(server) as AddressInfo).port;
      const tally = this.counts.listener(g.address.text + (g.tls ? ' tls' : ''));
      server.on('connection', (socket: Socket) => tally.connected(socket));
      this.listeners.push({ server, key, tls: g.tls, ...(tls ? { defaults: g.hosts.defaultServer, floor: tls.floor } : {}) });
    }
  }

  /** onUpgrade routes an Upgrade request like any other, with a response bound to its socket so middleware can refuse it. */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, hosts: VirtualHosts<ServerRuntime>, conn: ConnInfo): void {
    socket.on('error', () => socket.destroy());
    // Upgraded connections leave the HTTP server's books: track them to cut them on close.
    this.tunnels.add(socket);
    socket.once('close', () => this.tunnels.delete(socket));
    const res = new GateResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => socket.end());
    this.onRequest(req, res, hosts, conn, { socket, head });
  }

  /**
   * takesUpgrade decides, once a request's head is parsed, whether it is an upgrade: when it
   * carries no body and the handler of its route takes over exactly the protocol it names.
   * Any other request with an Upgrade header is an ordinary request (see upgradeGate).
   */
  private takesUpgrade(req: IncomingMessage, hosts: VirtualHosts<ServerRuntime>): boolean {
    const protocol = req.headers.upgrade?.toLowerCase();
    if (!protocol || hasBody(req)) return false;
    const t = requestTarget(req);
    const host = t.hostHeader === undefined ? '' : this.hostNames.read(t.hostHeader);
    const clean = cleanPath(t.rawPath);
    if (host === undefined || !clean.ok) return false;
    const rt = hosts.pick(host);
    const m = rt.router.match(clean.path);
    const handler = m && !m.addSlash && m.entry.decl.handler ? rt.units.get(m.entry.decl.handler) : undefined;
    return handler?.upgrades?.includes(protocol) ?? false;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse, hosts: VirtualHosts<ServerRuntime>, conn: ConnInfo, upgrade?: Upgrade): void {
    if (afterLastServed(req)) return; // see servePlain: nothing after that request is served
    const { rawPath, query, hostHeader } = requestTarget(req);
    // RFC 9112 3.2: a Host that is no host, or sent twice, is a 400 (plugins build URLs from it);
    // an HTTP/2 request's raw headers hold one Host at most (see GateH2Request), made only when read
    const named = hostHeader === undefined ? '' : this.hostNames.read(hostHeader);
    const badHost = named === undefined || (req.httpVersionMajor !== 2 && hostLines(req.rawHeaders) > 1);
    const host = badHost ? '' : named;
    const rt = hosts.pick(host);
    const clean = cleanPath(rawPath);
    const ctx = new Ctx(req, res, conn, host || hostOf(req.socket.localAddress), clean.ok ? clean.path : rawPath, rawPath, query, this.log, rt.routing);
    (res as Answering)[CTX] = ctx;
    ctx.upgrade = upgrade;
    ctx.authority = hostHeader;
    if (conn.scheme === 'https') for (const [k, v] of rt.httpsHeaders) res.setHeader(k, v);
    this.counts.add(ctx, rt.unrouted);
    this.onDispatch?.(ctx);
    if (!upgrade && servedPlain(req)) servePlain(req, res);
    const framing = framingError(req);
    if (framing) {
      this.refuse(ctx, framing);
      return;
    }
    if (!clean.ok) {
      this.refuse(ctx, new HttpError(400, `bad request path: ${clean.reason}`, { expose: true }));
      return;
    }
    if (badHost) {
      this.refuse(ctx, new HttpError(400, 'bad Host header', { expose: true }));
      return;
    }
    if (conn.scheme === 'https' && belowFloor(req, rt)) {
      this.refuse(ctx, new HttpError(421));
      return;
    }
    if (conn.scheme === 'http' && this.http01.length !== 0 && answerHttp01(ctx, this.http01)) return;
    this.route(ctx, rt);
  }

  private route(ctx: Ctx, rt: ServerRuntime): void {
    let done: Promise<void>;
    try {
      done = rt.routing.serve(ctx);
    } catch (e) {
      this.fail(ctx, e);
      return;
    }
    if (done === DONE)
      this.after(ctx); // answered already: no promise reaction to wait for
    else
      done.then(
        () => this.after(ctx),
        (e: unknown) => this.fail(ctx, e),
      );
  }

  private after(ctx: Ctx): void {
    if (ctx.upgraded || ctx.res.headersSent || ctx.res.writableEnded) return;
    if (clientGone(ctx))
      logClientClosed(ctx); // a handler that stops when its client leaves: nothing to answer
    else this.fail(ctx, new Error('the handler finished without sending a response'));
  }

  /** refuse answers a request the kernel turns away before routing: the client's fault, logged at info. */
  private refuse(ctx: Ctx, e: HttpError): void {
    ctx.log.info(`refused: ${e.message}`, { request_id: ctx.requestId, method: ctx.method, uri: ctx.uri, status: e.status });
    answerError(ctx, e.status, e);
  }

  /**
   * fail is the one place a handler's error becomes a response: HttpError as its status,
   * anything else 500, each with its log line; a client that left gets neither.
   */
  private fail(ctx: Ctx, e: unknown): void {
    if (this.refusedBodies.has(ctx)) return; // answered by refuseBody; the handler just noticed
    const http = e instanceof HttpError ? e : undefined;
    if (http?.status === CLIENT_CLOSED || clientGone(ctx)) {
      logClientClosed(ctx, e);
      return;
    }
    const status = http?.status ?? 500;
    logFailure(ctx, e, status);
    if (ctx.upgraded) {
      ctx.upgrade!.socket.destroy();
      return;
    }
    if (ctx.res.headersSent) {
      ctx.res.destroy();
      return;
    }
    answerError(ctx, status, http);
  }

  /**
   * refuseBody answers a request whose body the parser gave up on: 400 when it broke HTTP/1.1
   * framing (a bad chunk size, a bare LF, a Content-Length trailer), 408 when it came too slowly
   * (request_timeout). Nothing after it can be parsed, so the connection closes after the
   * answer. The handler, still waiting for that body, sees it fail once the connection is gone:
   * what it then writes or throws is dropped.
   */
  private refuseBody(res: ServerResponse, status: number, reason: string): void {
    const ctx = (res as Answering)[CTX];
    const socket = res.socket;
    if (!ctx || res.writableEnded) {
      // answered already (a refusal before routing): only close
      if (res.writableFinished) socket?.end();
      else res.once('finish', () => socket?.end());
      return;
    }
    this.refusedBodies.add(ctx);
    res.on('error', () => {}); // a write after the answer, by the handler
    // the body stream would wait for ever (the parser is done, and an answered request is off
    // Node's books): end it with an error once the connection is gone, for the handler to stop
    socket?.once('close', () => ctx.req.destroy(new Error(`malformed request body (${reason})`)));
    ctx.log.info(status === 408 ? 'request body timed out' : 'bad request body', {
      request_id: ctx.requestId,
      method: ctx.method,
      uri: ctx.uri,
      status,
      reason,
    });
    if (res.headersSent)
      res.destroy(); // a response under way to a request that turned out bad: cut it
    else answerError(ctx, status, new HttpError(status, undefined, { headers: { connection: 'close' } }));
  }

  /** reopen asks every unit to reopen its files (USR1). */
  async reopen(): Promise<void> {
    for (const u of this.units) {
      try {
        await u.reopen?.();
      } catch (e) {
        this.log.error('reopen failed', { error: (e as Error).message });
      }
    }
  }

  /** traffic reads what this gate served so far (admin). */
  traffic(): TrafficCounts {
    return this.counts.counts();
  }

  /** reports gathers the units' live state: upstreams, pools (admin). */
  reports(): UnitReport[] {
    const out: UnitReport[] = [];
    for (const u of this.units) {
      try {
        const r = u.report?.();
        if (r) out.push(r);
      } catch (e) {
        this.log.error('unit report failed', { error: (e as Error).message });
      }
    }
    return out;
  }

  /** drainUpstream takes upstream `id` out of rotation in every unit that has it, or back in; it tells whether one had it. */
  drainUpstream(id: string, drained: boolean): boolean {
    let found = false;
    for (const u of this.units) if (u.drainUpstream?.(id, drained)) found = true;
    return found;
  }

  /** addresses lists the bound listeners (real ports, for port 0). */
  addresses(): BoundAddress[] {
    return this.listeners.map(({ server, key, tls }) => {
      const a = listenerAddress(server);
      return typeof a === 'string' || a === null ? { key, tls, path: a ?? key.slice(5) } : { key, tls, host: a.address, port: a.port };
    });
  }

  /** close stops the listeners (draining requests within `timeout`) then closes units in reverse order. */
  async close(timeout = this.config.global.gracefulTimeout): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Long-lived connections (WebSockets) may run until the graceful timeout, not after it.
    const cut = (): void => {
      for (const t of this.tunnels) t.destroy();
    };
    const timer = setTimeout(cut, timeout);
    await Promise.all(this.listeners.map((l) => closeListener(l.server, timeout)));
    clearTimeout(timer);
    cut();
    for (const u of [...this.units].reverse()) {
      try {
        await u.close?.();
      } catch (e) {
        this.log.error('unit close failed', { error: (e as Error).message });
      }
    }
    for (const p of this.plugins.values()) {
      try {
        await p.close?.();
      } catch (e) {
        this.log.error('plugin close failed', { plugin: p.name, error: (e as Error).message });
      }
    }
  }
}

/** serverLabel names a server in metrics: its first hostname, or `_` and its first address for a default server. */
function serverLabel(s: ServerDecl): string {
  return s.names[0] ?? `_ ${s.listens[0]?.address.text ?? ''}`.trimEnd();
}

/** RequestTarget is a request's path and query as sent, and the authority it names. */
interface RequestTarget {
  readonly rawPath: string;
  readonly query: string;
  /** hostHeader is an absolute-form target's authority (RFC 9112 3.2.2: it wins over Host), else Host. */
  readonly hostHeader: string | undefined;
}

/** requestTarget reads a request's target: the path and query as sent, and the authority it names. */
function requestTarget(req: IncomingMessage): RequestTarget {
  let url = req.url ?? '/';
  let hostHeader = req.headers.host;
  if (url.charCodeAt(0) !== 47 /* / */ && /^https?:\/\//i.test(url)) {
    const start = url.indexOf('//') + 2;
    const end = authorityEnd(url, start);
    hostHeader = url.slice(start, end);
    url = url.charCodeAt(end) === 47 ? url.slice(end) : `/${url.slice(end)}`;
  }
  const q = url.indexOf('?');
  return { rawPath: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), hostHeader };
}

/** authorityEnd finds where the authority of an absolute URI that starts at `from` ends: at '/', '?', '#' or the end. */
function authorityEnd(url: string, from: number): number {
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return url.length;
}

/**
 * belowFloor tells whether an HTTPS request reached a server over an older TLS version than
 * that server's min_version: the handshake followed the SNI name, and a client may name one
 * server there and another in Host. Such a request is misdirected (RFC 9110 15.5.20).
 */
function belowFloor(req: IncomingMessage, rt: ServerRuntime): boolean {
  const min = rt.tls?.options.minVersion;
  if (min === undefined) return false;
  // an HTTP/2 request's socket is a view made on first read: its request answers without one
  const version = req instanceof GateH2Request ? req.tlsProtocol() : (req.socket as TLSSocket).getProtocol?.();
  return (version ?? '') < min;
}

/** alpn01 is the certificate of a TLS-ALPN-01 challenge pending for `name` on its server, if any. */
function alpn01(rt: ServerRuntime, name: string): SecureContext | undefined {
  const options = rt.provider?.tlsAlpn01?.(name);
  return options ? secureContextOf(options) : undefined;
}

/** stapleFor is the OCSP staple for the certificate a handshake serves, from the server whose it is. */
function stapleFor(servers: readonly ServerRuntime[], certificate: Buffer): Buffer | undefined {
  for (const rt of servers) {
    const staple = rt.provider?.ocsp?.(certificate);
    if (staple) return staple;
  }
  return undefined;
}
