import type { Socket } from 'node:net';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { diagnostic, HttpError, spanOf, type Ctx, type Diagnostic, type HandlerUnit, type Logger, type Span, type UnitReport } from '../../core/index.js';
import { bodyBuffering, bufferBody, type BodyBuffering } from '../../lib/index.js';
import { balancer, type Balancer } from './balance.js';
import { exchange, UpstreamFailure, type Responder, type Timeouts } from './exchange.js';
import { requestFraming, type RequestFraming } from './framing.js';
import { exchangeH2 } from './h2-exchange.js';
import { groupHeaders, requestHead, requestHeaders, reservedHeader, responseHeaders, rewriteLocations, TOKEN_RE, webSocket, type HeaderOp } from './headers.js';
import { HealthChecker, type HealthSpec } from './health.js';
import type { UpstreamHead } from './response-parser.js';
import type { ProxyConfig } from './schema.js';
import { StickyCookie } from './sticky.js';
import { upstreamUri, type PathSpec } from './target.js';
import { Tunnels } from './tunnel.js';
import { hasPath, isHttp2Url, parseTarget, Upstream } from './upstream.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** PassiveSpec is passive health: `count` failures within `window` ms mark an upstream down for `downFor` ms. */
interface PassiveSpec {
  readonly count: number;
  readonly window: number;
  readonly downFor: number;
}

/**
 * ProxyUnit is one `proxy` directive: its upstreams with their pools and health, the balancer,
 * and the per-request work: pick, exchange, retry on another upstream when that is safe.
 */
export class ProxyUnit implements HandlerUnit, Responder {
  private readonly upstreams: Upstream[];
  private readonly pick: Balancer;
  private readonly sticky: StickyCookie | undefined;
  private readonly timeouts: Timeouts;
  private readonly wsIdle: number;
  private readonly retries: number;
  private readonly passive: PassiveSpec;
  private readonly up: { preserveHost: boolean; ops: HeaderOp[] };
  private readonly down: HeaderOp[];
  private readonly rewriteLocation: boolean;
  private readonly path: PathSpec;
  private readonly health: HealthSpec | undefined;
  private readonly buffering: BodyBuffering;
  private checker: HealthChecker | undefined;
  private readonly tunnels = new Tunnels();
  /** upgrades: WebSockets are the one upgrade the proxy carries (webSocket()). */
  readonly upgrades = ['websocket'];

  constructor(
    private readonly cfg: ProxyConfig,
    private readonly at: Span,
    private readonly log: Logger,
  ) {
    const ups = [...cfg.upstreams.map((url) => ({ url, weight: 1 })), ...(cfg.upstream ?? [])];
    this.upstreams = ups
      .filter((u) => u.url !== undefined && !hasPath(u.url))
      .map((u) => new Upstream(parseTarget(u.url, at.file), u.weight, isHttp2Url(u.url)));
    const b = cfg.balance;
    this.pick = balancer(b.policy === 'cookie' ? 'round_robin' : b.policy);
    if (b.policy === 'cookie' && b.cookie) {
      this.sticky = new StickyCookie(
        { name: b.cookie, secret: b.secret ?? '', ...(b.max_age !== undefined ? { maxAge: b.max_age } : {}) },
        this.upstreams,
        this.pick,
      );
    }
    this.timeouts = { connect: cfg.connect_timeout, read: cfg.read_timeout, send: cfg.send_timeout };
    this.wsIdle = cfg.ws_idle_timeout ?? this.timeouts.read;
    this.retries = cfg.retries ?? Math.max(0, this.upstreams.length - 1);
    const mf = cfg.max_fails;
    const downFor = cfg.fail_timeout;
    this.passive = { count: this.upstreams.length > 1 ? (mf?.count ?? 1) : 0, window: mf?.window ?? downFor, downFor };
    this.up = { preserveHost: cfg.preserve_host, ops: headerOps(cfg.header_up) };
    this.down = headerOps(cfg.header_down);
    this.rewriteLocation = cfg.rewrite_location;
    this.path = { ...(cfg.strip_prefix !== undefined ? { strip: cfg.strip_prefix } : {}), ...(cfg.rewrite ? { rewrite: cfg.rewrite } : {}) };
    this.health = healthSpec(cfg.health_check);
    this.buffering = bodyBuffering(cfg);
  }

  validate(): Diagnostic[] {
    return validateProxy(this.cfg, this.at);
  }

  async provision(): Promise<void> {
    const pool = { keepalive: this.cfg.keepalive, keepaliveTimeout: this.cfg.keepalive_timeout, tlsInsecure: this.cfg.tls_insecure };
    for (const u of this.upstreams) u.open(pool);
    if (this.health) (this.checker = new HealthChecker(this.upstreams, this.health, this.log)).start();
  }

  async close(): Promise<void> {
    this.checker?.close();
    this.tunnels.close();
    for (const u of this.upstreams) u.close();
  }

  async handle(ctx: Ctx): Promise<void> {
    const path = upstreamUri(ctx, this.path);
    const upgrade = webSocket(ctx);
    let framing = requestFraming(ctx);
    if (this.buffering.enabled && framing.body !== 'none' && !upgrade) {
      // a buffered body goes upstream with its length, chunked uploads too (as Nginx's proxy_request_buffering)
      const buffered = await bufferBody(ctx, this.buffering);
      if (buffered) framing = { body: buffered.length > 0 ? 'length' : 'none', length: buffered.length };
    }
    const tried: Upstream[] = [];
    let retriesLeft = this.retries;
    let staleLeft = 2;
    let up = this.choose(ctx, tried);
    if (!up) throw this.noUpstream(ctx);
    let answering: Upstream | undefined; // the upstream whose answer goes out, for the sticky cookie
    this.sticky?.follow(ctx, () => answering);
    for (;;) {
      const cur = up;
      tried.push(cur);
      answering = cur;
      ctx.vars.set('upstream', cur.key);
      cur.active++;
      const started = performance.now();
      try {
        await this.attempt(ctx, cur, path, framing, upgrade);
        return;
      } catch (e) {
        if (!(e instanceof UpstreamFailure)) throw e;
        cur.failures++;
        // a pooled connection found closed: the upstream may have read the request all the same,
        // so only a request safe to repeat is sent again (RFC 9110 9.2.2)
        if (e.stale && !e.bodySent && IDEMPOTENT.has(ctx.method) && staleLeft-- > 0) {
          tried.pop();
          continue;
        }
        this.passiveFailure(cur);
        const next = retriesLeft-- > 0 && retriable(e, ctx.method) ? this.choose(ctx, tried) : undefined;
        answering = undefined;
        if (!next) throw this.failure(ctx, cur, e);
        this.log.warn(`${describe(e)}; trying another upstream`, { upstream: cur.key, request_id: ctx.requestId, error: errorText(e) });
        up = next;
      } finally {
        cur.active--;
        cur.requests++;
        cur.latencySum += (performance.now() - started) / 1000;
      }
    }
  }

  /** report shows each upstream as this worker sees it (admin). */
  report(): UnitReport {
    const now = Date.now();
    const proxy = `${basename(this.at.file)}:${this.at.line}`;
    return {
      upstreams: this.upstreams.map((u) => {
        const reason = u.whyDown(now);
        return {
          id: u.key,
          proxy,
          healthy: reason === undefined,
          ...(reason === undefined ? {} : { reason }),
          drained: u.drained,
          inFlight: u.active,
          requests: u.requests,
          failures: u.failures,
          latencySum: u.latencySum,
        };
      }),
    };
  }

  /** drainUpstream takes the upstreams at address `id` out of rotation, or back in (admin). */
  drainUpstream(id: string, drained: boolean): boolean {
    let found = false;
    for (const u of this.upstreams)
      if (u.key === id) {
        u.drained = drained;
        found = true;
      }
    if (found) this.log.info(drained ? 'upstream drained: no new requests until enabled' : 'upstream enabled again', { upstream: id });
    return found;
  }

  /** attempt is one exchange with `up`, over HTTP/2 streams for an h2c/h2 upstream, else over a pooled HTTP/1.1 connection. */
  private attempt(ctx: Ctx, up: Upstream, path: string, framing: RequestFraming, upgrade: boolean): Promise<void> {
    const headers = requestHeaders(ctx, this.up, up.hostHeader, framing);
    if (up.http2) {
      // RFC 8441's extended CONNECT is not spoken upstream: a WebSocket needs an HTTP/1.1 upstream
      if (upgrade) throw new HttpError(502, 'Bad Gateway', { cause: new Error('a WebSocket cannot be proxied to an HTTP/2 (h2c/h2) upstream') });
      return exchangeH2(ctx, up, up.sessions, { method: ctx.method, path, headers, framing, timeouts: this.timeouts, responder: this });
    }
    const head = requestHead(ctx.method, path, headers, !upgrade && !up.pool.reuses);
    return exchange(ctx, up, { head, method: ctx.method, framing, upgrade, timeouts: this.timeouts, responder: this });
  }

  /**
   * head writes the upstream's status and headers (filtered, header_down applied) to the client;
   * an `ended` response only sets them, and goes as a whole with the end (HTTP/2: one HEADERS
   * frame that ends the stream, as gRPC's trailers-only answers must).
   */
  head(ctx: Ctx, res: UpstreamHead, up: Upstream, ended = false): void {
    const status = res.statusCode;
    const headers = responseHeaders(this.locations(ctx, res.rawHeaders, up), this.down, ctx);
    const out = ctx.res;
    if (!ended && out.getHeaderNames().length === 0) {
      out.writeHead(status, res.statusMessage, headers);
      return;
    }
    for (const { name, values } of groupHeaders(headers).values()) out.setHeader(name, values.length === 1 ? values[0] : values);
    if (ended) out.statusCode = status;
    else out.writeHead(status, res.statusMessage);
  }

  /** upgrade answers 101 on the client's connection and joins it to the upstream's. */
  upgrade(ctx: Ctx, res: UpstreamHead, socket: Socket, head: Buffer): void {
    const client = ctx.takeUpgrade();
    const headers = responseHeaders(res.rawHeaders, this.down, ctx, true);
    let text = `HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}\r\n`;
    for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
    client.socket.write(`${text}\r\n`);
    if (head.length) client.socket.write(head);
    if (client.head.length) socket.write(client.head);
    this.tunnels.join(client.socket, socket, this.wsIdle);
  }

  /** locations rewrites Location and Refresh answers naming the upstream that served this request (rewrite_location). */
  private locations(ctx: Ctx, raw: string[], up: Upstream): string[] {
    if (!this.rewriteLocation || !up.origins.length) return raw;
    const prefix = this.path.strip === undefined ? '' : (this.path.strip || ctx.mount).replace(/\/$/, '');
    return rewriteLocations(raw, up.origins, `${ctx.scheme}://${ctx.authority ?? ctx.host}`, prefix);
  }

  private choose(ctx: Ctx, tried: readonly Upstream[]): Upstream | undefined {
    const now = Date.now();
    if (this.upstreams.length === 1) {
      // the common case, without the candidate list
      const only = this.upstreams[0];
      return only.available(now) && tried.length === 0 ? only : undefined;
    }
    const candidates = this.upstreams.filter((u) => u.available(now) && !tried.includes(u));
    if (!candidates.length) return undefined;
    return this.sticky ? this.sticky.pick(ctx, candidates) : this.pick(candidates, ctx.remote);
  }

  private passiveFailure(up: Upstream): void {
    const p = this.passive;
    if (up.failed(Date.now(), p.count, p.window, p.downFor)) {
      this.log.warn(`upstream marked down for ${p.downFor}ms after ${p.count} failure(s)`, { upstream: up.key });
    }
  }

  private noUpstream(ctx: Ctx): HttpError {
    this.log.error('no upstream available (all failed their health checks, are marked down or drained)', {
      request_id: ctx.requestId,
      upstreams: this.upstreams.map((u) => u.key).join(','),
    });
    return new HttpError(502, 'Bad Gateway', { cause: new Error('no upstream available'), logged: true });
  }

  private failure(ctx: Ctx, up: Upstream, e: UpstreamFailure): HttpError {
    this.log.error(describe(e), { upstream: up.key, request_id: ctx.requestId, method: ctx.method, uri: ctx.uri, error: errorText(e) });
    return new HttpError(e.timeout ? 504 : 502, undefined, { cause: e, logged: true });
  }
}

/** retriable tells whether a failed attempt may go to another upstream: the client's request must be replayable. */
function retriable(e: UpstreamFailure, method: string): boolean {
  if (e.responded || e.bodySent) return false;
  return e.phase === 'connect' || IDEMPOTENT.has(method);
}

function describe(e: UpstreamFailure): string {
  if (e.timeout)
    return `upstream timed out while ${e.phase === 'connect' ? 'connecting' : e.phase === 'send' ? 'sending the request' : 'reading the response'}`;
  if (e.phase === 'connect') return 'upstream connect failed';
  return e.responded ? 'upstream failed mid-response' : 'upstream failed before responding';
}

function errorText(e: UpstreamFailure): string {
  const c = e.cause as NodeJS.ErrnoException | undefined;
  return c?.code ? `${c.code}: ${c.message}` : e.message;
}

function headerOps(list: readonly { op: string; header: string; value?: unknown }[] | undefined): HeaderOp[] {
  return (list ?? []).map((o) => ({ op: o.op as HeaderOp['op'], name: o.header.toLowerCase(), ...(o.value ? { value: o.value as HeaderOp['value'] } : {}) }));
}

function healthSpec(h: ProxyConfig['health_check']): HealthSpec | undefined {
  if (!h?.path) return undefined;
  return { path: h.path, interval: h.interval, timeout: h.timeout, expect: h.expect ?? [] };
}

/** validateProxy reports what the schema cannot: no upstream, an upstream with a path, malformed header operations. */
function validateProxy(cfg: ProxyConfig, at: Span): Diagnostic[] {
  const out: Diagnostic[] = [];
  const ups = cfg.upstream ?? [];
  const urls: [string, Span][] = [
    ...cfg.upstreams.map((u, i): [string, Span] => [u, spanOf(cfg.upstreams, i) ?? at]),
    ...ups.flatMap((u): [string, Span][] => (u.url === undefined ? [] : [[u.url, spanOf(u, 'url') ?? at]])),
  ];
  if (!urls.length)
    out.push(
      diagnostic('GK_PROXY_NO_UPSTREAM', "'proxy' needs at least one upstream", at, 'proxy http://127.0.0.1:9000, or an upstream URL { weight N } option'),
    );
  for (const [u, where] of urls) {
    if (hasPath(u))
      out.push(
        diagnostic(
          'GK_PROXY_UPSTREAM_PATH',
          `upstream '${u}' has a path, query or credentials`,
          where,
          'give scheme://host:port only; change the upstream path with strip_prefix or rewrite',
        ),
      );
  }
  for (const [where, list] of [
    ['header_up', cfg.header_up],
    ['header_down', cfg.header_down],
  ] as const) {
    for (const o of list ?? []) {
      const reserved = reservedHeader(where, o.op as HeaderOp['op'], o.header.toLowerCase());
      if (!TOKEN_RE.test(o.header)) out.push(diagnostic('GK_PROXY_HEADER', `invalid header name '${o.header}' in '${where}'`, spanOf(o, 'header') ?? at));
      else if (reserved) out.push(diagnostic('GK_PROXY_HEADER', `'${where}' cannot ${o.op} '${o.header}': ${reserved}`, spanOf(o, 'header') ?? at));
      else if (o.op === 'remove' && o.value) out.push(diagnostic('GK_PROXY_HEADER', `'${where} remove ${o.header}' takes no value`, spanOf(o, 'value') ?? at));
      else if (o.op !== 'remove' && !o.value)
        out.push(
          diagnostic('GK_PROXY_HEADER', `'${where} ${o.op} ${o.header}' needs a value`, spanOf(o, 'header') ?? at, `${where} ${o.op} ${o.header} VALUE`),
        );
    }
  }
  const strip = cfg.strip_prefix;
  if (strip && !strip.startsWith('/'))
    out.push(diagnostic('GK_PROXY_STRIP_PREFIX', `strip_prefix '${strip}' must start with '/'`, spanOf(cfg, 'strip_prefix') ?? at));
  if (strip !== undefined && cfg.rewrite)
    out.push(diagnostic('GK_PROXY_REWRITE', "'rewrite' sets the whole upstream path: drop strip_prefix", spanOf(cfg, 'rewrite') ?? at));
  out.push(...validateBalance(cfg.balance, at));
  const h = cfg.health_check;
  const h2 = urls.find(([u]) => isHttp2Url(u));
  if (h?.path !== undefined && h2)
    out.push(
      diagnostic(
        'GK_PROXY_HEALTH_H2',
        `health_check cannot probe the HTTP/2 upstream '${h2[0]}': its probes are HTTP/1.1 requests`,
        spanOf(h, 'path') ?? at,
        'drop health_check; passive health (max_fails) still applies',
      ),
    );
  if (h?.path !== undefined && !h.path.startsWith('/'))
    out.push(diagnostic('GK_PROXY_HEALTH_PATH', `health_check path '${h.path}' must start with '/'`, spanOf(h, 'path') ?? at));
  return out;
}

/** validateBalance wants a cookie name with `balance cookie`, and none (nor its options) with the other policies. */
function validateBalance(b: ProxyConfig['balance'], at: Span): Diagnostic[] {
  const where = spanOf(b, 'policy') ?? at;
  if (b.policy === 'cookie') {
    if (!b.cookie) return [diagnostic('GK_PROXY_BALANCE', "'balance cookie' needs the cookie's name", where, 'balance cookie lb { secret ${STICKY_SECRET} }')];
    return TOKEN_RE.test(b.cookie) ? [] : [diagnostic('GK_PROXY_BALANCE', `invalid cookie name '${b.cookie}'`, spanOf(b, 'cookie') ?? where)];
  }
  if (b.cookie !== undefined || b.secret !== undefined || b.max_age !== undefined) {
    return [diagnostic('GK_PROXY_BALANCE', `'balance ${b.policy}' takes no cookie, secret or max_age`, where, 'those go with balance cookie NAME')];
  }
  return [];
}
