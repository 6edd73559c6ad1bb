import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex, Readable } from 'node:stream';
import type { TemplateLike } from '../dsl/schema.js';
import { fieldText } from './field-value.js';
import { urlText } from './url-text.js';
import type { Logger } from './logger.js';
import type { BodyFilter, HeadHook, ResponsePipeline, Sent } from './pipeline.js';
import { pipelineOf } from './response.js';
import type { RedispatchOptions, Routing } from './redispatch.js';

/** KERNEL_VARIABLES are the request variables every request has (plugins add more). */
export const KERNEL_VARIABLES: Readonly<Record<string, string>> = {
  scheme: 'http or https',
  host: 'the Host header without its port (else the listener address)',
  port: 'the port the request came in on',
  method: 'the request method',
  path: 'the decoded, normalised path, without the query',
  query: 'the query string, without ?',
  uri: 'the path as requested, plus ?query when there is one',
  remote: 'the client address',
  user: 'the authenticated user, when auth set one',
  request_id: 'a unique id for the request (X-Request-ID)',
  status: 'the response status (in logs)',
  pid: 'the pid of the process serving the request',
};

/** URL_FIELDS are the header fields whose whole value is a URI reference (RFC 9110 10.2.2, 8.7). */
const URL_FIELDS: ReadonlySet<string> = new Set(['location', 'content-location']);

/** VARIABLE_PREFIXES name families of variables: $http_user_agent, $arg_page, $cookie_sid. */
export const VARIABLE_PREFIXES = ['http_', 'arg_', 'cookie_'] as const;

let idPrefix = randomBytes(6).toString('hex');
let idCounter = 0;

/** Upgrade is the connection of a request that asks to switch protocols (WebSocket). */
export interface Upgrade {
  readonly socket: Duplex;
  /** head is what the client sent after the request headers (the first frames, maybe). */
  readonly head: Buffer;
}

/** ConnInfo is what the listener knows about a request before routing. */
export interface ConnInfo {
  readonly scheme: 'http' | 'https';
  readonly port: number;
}

/**
 * Ctx is one request on its way through the chain: Node's request and response, the parsed
 * and cleaned URL, routing results, and request variables.
 */
export class Ctx {
  /** mount is the matched route's mount point without its trailing slash ('' for /). */
  mount = '';
  /** captures are the groups of the nearest regex route ($1..$9). */
  captures: readonly string[] = [];
  private varMap: Map<string, string> | undefined;
  private bodyStream: Readable | undefined;
  private stateMap: Map<symbol, unknown> | undefined;
  /** startTime is when the request arrived (ms, from performance.now(); imported: the global is a getter): when its response was made. */
  readonly startTime: number;
  /** upgrade is set when the request asks to switch protocols; see takeUpgrade(). */
  upgrade: Upgrade | undefined;
  /**
   * authority is the host, with its port, that the request named: an absolute-form target's
   * (which wins over Host, RFC 9112 3.2.2), else the Host header's; undefined when neither.
   */
  authority: string | undefined;
  private upgradeTaken = false;
  private id: string | undefined;
  private queryParams: URLSearchParams | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly conn: ConnInfo,
    /** host is the Host header, lowercased, without its port. */
    readonly host: string,
    /** path is the decoded, normalised path used for routing. */
    readonly path: string,
    /** rawPath is the path as sent, still percent-encoded. */
    readonly rawPath: string,
    /** query is the query string without '?' ('' when none). */
    readonly query: string,
    readonly log: Logger,
    /** routing is how the request's server routes it again (redispatch); none outside a gate. */
    private readonly routing?: Routing,
  ) {
    this.startTime = pipelineOf(res)?.startAt ?? performance.now();
  }

  /** vars holds plugin-set request variables ($user, $upstream...); made on first use. */
  get vars(): Map<string, string> {
    return (this.varMap ??= new Map());
  }
  /** state holds per-request data middleware shares with handlers, keyed by symbols; made on first use. */
  get state(): Map<symbol, unknown> {
    return (this.stateMap ??= new Map());
  }

  /**
   * body is the request body as handlers should read it: the request itself unless a
   * middleware replaced it with a stream of its own (a size limit, a decoder).
   */
  get body(): Readable {
    return this.bodyStream ?? this.req;
  }
  set body(stream: Readable) {
    // A body stream may fail after its reader stopped listening (a limit passed, the client
    // gone). Node's request emits 'error' only to listeners; a stream set here gets the same
    // guard, so its failure reaches whoever reads it, never the process.
    if (!stream.listeners('error').includes(unread)) stream.on('error', unread);
    this.bodyStream = stream;
  }

  /** methodOverride, when set, replaces the request's method (a redispatch as GET). */
  methodOverride: string | undefined;

  /** method is the request method. */
  get method(): string {
    return this.methodOverride ?? this.req.method ?? 'GET';
  }
  /** scheme is http or https. */
  get scheme(): string {
    return this.conn.scheme;
  }
  /** remote is the client's IP address. */
  get remote(): string {
    return this.req.socket.remoteAddress ?? '';
  }
  /** uri is the path as requested, with ?query when there is one. */
  get uri(): string {
    return this.query ? `${this.rawPath}?${this.query}` : this.rawPath;
  }
  /** pathInMount is the path after the mount point: '/a.css' for /assets/a.css under /assets/. */
  get pathInMount(): string {
    return this.path.slice(this.mount.length) || '/';
  }

  /**
   * takeUpgrade hands the raw connection of an Upgrade request to the caller (a WebSocket
   * handler), who then owns it; middleware before it may still answer with a plain response.
   */
  takeUpgrade(): Upgrade {
    if (!this.upgrade || this.upgradeTaken) throw new Error('takeUpgrade: not an upgrade request, or already taken');
    this.upgradeTaken = true;
    this.res.detachSocket(this.upgrade.socket as Socket);
    pipelineOf(this.res)?.take(this.upgrade.socket, 101);
    return this.upgrade;
  }

  /**
   * takeSocket hands the raw client connection of any request to the caller, who writes a
   * whole HTTP response on it unparsed (CGI nph- scripts) and then ends it; the kernel
   * writes nothing more on it. For an Upgrade request, use takeUpgrade().
   */
  takeSocket(): Duplex {
    if (this.upgrade) return this.takeUpgrade().socket;
    if (this.upgradeTaken) throw new Error('takeSocket: already taken');
    this.upgradeTaken = true;
    const socket = this.req.socket;
    this.res.detachSocket(socket);
    pipelineOf(this.res)?.take(socket);
    return socket;
  }

  /**
   * onHead runs `hook` once, just before the response head goes out, with the status and
   * headers on the response (those given to writeHead included), for it to read and change.
   * Hooks run innermost first: the one an outer middleware adds runs after those of the
   * middleware and handler inside it, and sees what they set. Error responses go through
   * them too. Call it before the head goes out (before next(), in a middleware).
   */
  onHead(hook: HeadHook): void {
    this.pipeline.onHead(hook);
  }

  /**
   * filterBody puts a filter in the way of the response body: when the head goes out, in the
   * same order as onHead's hooks, `filter` sees the head (it may change it: drop
   * Content-Length, set Content-Encoding) and returns how to transform the body, or undefined
   * to leave it alone (a 206, an encoded body). The body then flows through the transforms,
   * innermost filter first, with backpressure. A response with no body (HEAD, 204, 304) runs
   * the filters for their head only.
   */
  filterBody(filter: BodyFilter): void {
    this.pipeline.filterBody(filter);
  }

  /**
   * sent is the kernel's record of the response as it went out: status, header and body
   * bytes, time to first byte and in all, whether the client left first. It grows as the
   * response goes and is final once the exchange is over (see onSent).
   */
  get sent(): Sent {
    return this.pipeline;
  }

  /**
   * onSent runs `fn` once the exchange is over and `sent` final: the response finished, or
   * its connection closed first, or a connection a handler took over closed. A hook that
   * throws is logged.
   */
  onSent(fn: (sent: Sent) => void): void {
    const p = this.pipeline;
    p.onSent(() => {
      try {
        fn(p);
      } catch (e) {
        this.log.error('onSent hook failed', { request_id: this.requestId, error: (e as Error).message });
      }
    });
  }

  private get pipeline(): ResponsePipeline {
    const p = pipelineOf(this.res);
    if (!p) throw new Error('this response was not made by the gatekit kernel, which alone runs hooks and keeps records');
    return p;
  }

  /**
   * redispatch serves the request as if it had asked for `path` (percent-encoded, and may
   * carry a ?query), through the same routing as a request that arrives: the route for it
   * runs, wrapped only by middleware that does not wrap this request already (a server's
   * `log` writes one line). `method` replaces the request method (a CGI local redirect is a
   * GET). Index files, fallbacks and local redirects all count towards one limit: past 10
   * internal redirects of one request, it fails with a 500, as Nginx does.
   */
  redispatch(path: string, o?: RedispatchOptions): Promise<void> {
    if (!this.routing) return Promise.reject(new Error('redispatch: this request was not routed by a gatekit server'));
    return this.routing.redispatch(this, path, o);
  }

  /**
   * sameRoute tells whether `path` (decoded and normalised, as ctx.path) would reach the
   * route that serves the request now: then its handler may serve it itself, without
   * redispatch.
   */
  sameRoute(path: string): boolean {
    return this.routing?.sameRoute(this, path) ?? false;
  }

  /**
   * detach serves a GET of this request's target with `headers` and no client, through its
   * route and that route's middleware, and resolves once that answer is over; its bytes go
   * nowhere. For work a plugin does on behalf of later clients (a cache refreshing an entry
   * in the background). `init` prepares the new request's ctx (a state flag) before it runs.
   */
  detach(headers: IncomingHttpHeaders, init?: (sub: Ctx) => void): Promise<void> {
    if (!this.routing) return Promise.reject(new Error('detach: this request was not routed by a gatekit server'));
    return this.routing.detach(this, headers, init);
  }

  /** upgraded tells whether a handler took the connection over (takeUpgrade or takeSocket). */
  get upgraded(): boolean {
    return this.upgradeTaken;
  }

  /** requestId is this request's id: X-Request-ID when a plugin trusted it, else generated once. */
  get requestId(): string {
    if (this.id === undefined) this.id = this.varMap?.get('request_id') ?? `${idPrefix}${(idCounter++).toString(16).padStart(8, '0')}`;
    return this.id;
  }

  /** variable returns a request variable's value, or undefined when unknown or unset. */
  variable(name: string): string | undefined {
    switch (name) {
      case 'scheme':
        return this.scheme;
      case 'host':
        return this.host;
      case 'port':
        return String(this.conn.port);
      case 'method':
        return this.method;
      case 'path':
        return this.path;
      case 'query':
        return this.query;
      case 'uri':
        return this.uri;
      case 'remote':
        return this.remote;
      case 'request_id':
        return this.requestId;
      case 'status':
        return String(this.res.statusCode);
      case 'pid':
        return String(process.pid);
    }
    const c = name.charCodeAt(0);
    if (c >= 49 && c <= 57 && name.length === 1) return this.captures[c - 49];
    if (name.startsWith('http_')) return headerValue(this.req.headers[name.slice(5).replace(/_/g, '-')]);
    if (name.startsWith('arg_')) return (this.queryParams ??= new URLSearchParams(this.query)).get(name.slice(4)) ?? undefined;
    if (name.startsWith('cookie_')) return cookie(this.req.headers.cookie, name.slice(7));
    return this.varMap?.get(name);
  }

  /** render expands a template's request variables for this request. */
  render(t: TemplateLike): string {
    return t.render((n) => this.variable(n));
  }

  /**
   * renderField expands a template for a header field value: each variable made fit for a
   * header (fieldText). A field whose value is a URL (Location, Content-Location) named in
   * `field` is rendered as one (renderUrl).
   */
  renderField(t: TemplateLike, field?: string): string {
    if (field !== undefined && URL_FIELDS.has(field.toLowerCase())) return this.renderUrl(t);
    return t.render((n) => {
      const v = this.variable(n);
      return v === undefined ? undefined : fieldText(n, v);
    });
  }

  /**
   * renderUrl expands a template that makes a URL (a redirect target, an upstream path): each
   * variable is encoded as a component of the part of the URL it lands in (urlText), so a
   * decoded `$arg_u` of `a&b=c` in a query stays one value.
   */
  renderUrl(t: TemplateLike): string {
    return t.render((n, before) => {
      const v = this.variable(n);
      return v === undefined ? undefined : urlText(n, v, before);
    });
  }

  /** send answers with a status, optional headers and a whole body. */
  send(status: number, body: string | Buffer = '', headers: OutgoingHttpHeaders = {}): Promise<void> {
    const res = this.res;
    const len = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    res.writeHead(status, { 'content-length': len, ...headers });
    return new Promise((resolve) => res.end(this.method === 'HEAD' ? undefined : body, resolve));
  }
}

/** unread is the error listener of a body stream nobody may be reading any more (see Ctx.body). */
function unread(): void {}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** resetRequestIds is for tests that assert on generated ids. */
export function resetRequestIds(prefix = randomBytes(6).toString('hex')): void {
  idPrefix = prefix;
  idCounter = 0;
}
