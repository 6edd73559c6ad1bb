import { request as httpRequest, type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConnPool, type ConnTarget, type PoolOptions } from './connection.js';
import { H2SessionPool } from './h2-sessions.js';

/** ProbeRequest is a request made outside the pool, on a connection of its own (health checks). */
export interface ProbeRequest {
  readonly method: string;
  readonly path: string;
  /** headers are flat name, value pairs. */
  readonly headers: readonly string[];
}

/** Target is where an upstream lives: a TCP host and port, or a unix socket path. */
export type Target = ConnTarget;

/** parseTarget reads an upstream URL (http, https, ws, wss, h2c, h2 or unix); a relative unix path starts at `file`'s folder. */
export function parseTarget(text: string, file: string): Target {
  const url = new URL(text);
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'unix') {
    const raw = decodeURIComponent(text.slice('unix:'.length).replace(/^\/\/(?=\/)/, ''));
    return { kind: 'unix', path: isAbsolute(raw) ? raw : resolve(dirname(file), raw) };
  }
  const tls = scheme === 'https' || scheme === 'wss' || scheme === 'h2';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'tcp', tls, host, port: url.port ? Number(url.port) : tls ? 443 : 80 };
}

/** isHttp2Url tells whether an upstream URL keeps HTTP/2 to the upstream: h2c:// (cleartext, prior knowledge) or h2:// (TLS). */
export function isHttp2Url(text: string): boolean {
  return /^h2c?:/i.test(text);
}

/** hasPath tells whether an upstream URL carries a path, query or credentials (not allowed). */
export function hasPath(text: string): boolean {
  if (text.startsWith('unix:')) return false;
  const url = new URL(text);
  return (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '' || url.hash !== '';
}

/**
 * Upstream is one backend server: where it is, its keep-alive pool, and its health as this
 * worker sees it (active checks, passive failures, requests in flight for least_conn).
 */
export class Upstream {
  /** key names the upstream in logs and $upstream: host:port or unix:/path. */
  readonly key: string;
  /** hostHeader is the Host sent when the client's is not preserved. */
  readonly hostHeader: string;
  /** origins are how the upstream names itself in absolute URLs (scheme://host:port, and without a default port). */
  readonly origins: readonly string[];
  /** active counts requests in flight (least_conn). */
  active = 0;
  /** current is the smooth weighted round robin's running score. */
  current = 0;
  /** healthy is the result of the last active health check (true until one fails); healthReason says why not. */
  healthy = true;
  healthReason: string | undefined;
  /** drained takes the upstream out of rotation (admin API); requests in flight finish. */
  drained = false;
  /** requests, failures and latencySum (seconds) count this worker's exchanges with it (admin). */
  requests = 0;
  failures = 0;
  latencySum = 0;
  private downUntil = 0;
  private fails = 0;
  private windowStart = 0;
  private conns: ConnPool | undefined;
  private h2: H2SessionPool | undefined;
  private tlsInsecure = false;

  /** http2 is true for an h2c:// or h2:// upstream: its requests go on HTTP/2 streams (sessions), not the HTTP/1.1 pool. */
  constructor(
    readonly target: Target,
    readonly weight: number,
    readonly http2 = false,
  ) {
    if (target.kind === 'unix') {
      this.key = `unix:${target.path}`;
      this.hostHeader = 'localhost';
    } else {
      const host = isIP(target.host) === 6 ? `[${target.host}]` : target.host;
      this.key = `${host}:${target.port}`;
      this.hostHeader = target.port === (target.tls ? 443 : 80) ? host : this.key;
    }
    const scheme = this.isTls ? 'https' : 'http';
    this.origins = target.kind === 'unix' ? [] : [...new Set([`${scheme}://${this.key}`, `${scheme}://${this.hostHeader}`])].map((o) => o.toLowerCase());
  }

  /** open creates the keep-alive pool, or the HTTP/2 sessions' (per worker, at provision). */
  open(pool: PoolOptions): void {
    const t = this.target;
    if (this.http2 && t.kind === 'tcp') this.h2 = new H2SessionPool(t, { idleTimeout: pool.keepaliveTimeout, tlsInsecure: pool.tlsInsecure });
    else this.conns = new ConnPool(t, pool);
    this.tlsInsecure = pool.tlsInsecure;
  }

  /** sessions are an HTTP/2 upstream's sessions (open() first). */
  get sessions(): H2SessionPool {
    if (!this.h2) throw new Error(`upstream ${this.key} used before provision`);
    return this.h2;
  }

  /** pool is the upstream's connection pool (open() first). */
  get pool(): ConnPool {
    if (!this.conns) throw new Error(`upstream ${this.key} used before provision`);
    return this.conns;
  }

  /** close destroys every pooled and active connection. */
  close(): void {
    this.conns?.close();
    this.conns = undefined;
    this.h2?.close();
    this.h2 = undefined;
  }

  /** isTls tells whether the upstream speaks https. */
  get isTls(): boolean {
    return this.target.kind === 'tcp' && this.target.tls;
  }

  /** probe starts a request on a connection of its own (health checks); the caller ends it. */
  probe(r: ProbeRequest): ClientRequest {
    const t = this.target;
    const base = { method: r.method, path: r.path, headers: r.headers as unknown as OutgoingHttpHeaders, setHost: false, agent: false };
    if (t.kind === 'unix') return httpRequest({ ...base, socketPath: t.path });
    if (!t.tls) return httpRequest({ ...base, host: t.host, port: t.port });
    const servername = isIP(t.host) ? '' : t.host;
    return httpsRequest({ ...base, host: t.host, port: t.port, servername, rejectUnauthorized: !this.tlsInsecure });
  }

  /** available tells whether the upstream may get traffic now. */
  available(now: number): boolean {
    return this.healthy && !this.drained && this.downUntil <= now;
  }

  /** whyDown says why the upstream gets no traffic now (health check, passive failures), or undefined. */
  whyDown(now: number): string | undefined {
    if (!this.healthy) return `health check: ${this.healthReason ?? 'failed'}`;
    if (this.downUntil > now) return `marked down after failures, for ${Math.ceil((this.downUntil - now) / 1000)}s more`;
    return undefined;
  }

  /**
   * failed records a passive failure; it returns true when that marks the upstream down
   * (`max` failures within `window` ms keep it down for `downFor` ms).
   */
  failed(now: number, max: number, window: number, downFor: number): boolean {
    if (max <= 0) return false;
    if (this.fails === 0 || now - this.windowStart > window) {
      this.fails = 0;
      this.windowStart = now;
    }
    if (++this.fails < max) return false;
    this.fails = 0;
    this.downUntil = now + downFor;
    return true;
  }
}
