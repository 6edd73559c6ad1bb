import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { diagnostic, HttpError, spanOf, type Ctx, type Diagnostic, type HandlerUnit, type Logger, type Span, type UnitReport } from '../../core/index.js';
import { bodyBuffering, bufferBody, cgiMetaVariables, localRedirect, TurnStats, type BodyBuffering, type CgiSite } from '../../lib/index.js';
import { ClientGone, exchange, UpstreamFailure, type Outcome, type Request } from './exchange.js';
import { ConnectFailure, ConnPool, STARVING_AFTER } from './pool.js';
import { encodeParams } from './protocol.js';
import type { FastcgiConfig } from './schema.js';
import { locateScript, type ScriptRules } from './script.js';

/**
 * FastcgiUnit is one `fastcgi` directive: it maps a request to a script under the document
 * root, sends it to the responder as CGI meta-variables and FCGI_STDIN on a connection from
 * its per-worker pool, and streams the answer back. Connect failures are 502, timeouts 504.
 */
export class FastcgiUnit implements HandlerUnit {
  private readonly rules: ScriptRules;
  private readonly stats = new TurnStats();
  private readonly site: CgiSite;
  private readonly pool: ConnPool;
  private readonly timeouts: { read: number; send: number };
  private readonly buffering: BodyBuffering;
  private closed = false;

  constructor(
    private readonly cfg: FastcgiConfig,
    private readonly at: Span,
    private readonly log: Logger,
  ) {
    const root = resolve(cfg.root).replace(/\/$/, '') || '/';
    this.rules = { root, index: cfg.index, extension: cfg.split_path };
    this.site = { software: 'gatekit', documentRoot: root, passAuth: cfg.pass_auth };
    this.timeouts = { read: cfg.read_timeout, send: cfg.send_timeout };
    this.buffering = bodyBuffering(cfg);
    const keepalive = cfg.keepalive;
    let told = false;
    this.pool = new ConnPool(cfg.address, {
      keepalive,
      idleTimeout: cfg.keepalive_timeout,
      connectTimeout: cfg.connect_timeout,
      queueTimeout: this.timeouts.read,
      // once per worker: a sizing hint, not a per-request event (a slow first script looks the same)
      onStarving: () => {
        if (told) return;
        told = true;
        log.info(
          `fastcgi: a new connection to ${cfg.address.text} had no answer after ${STARVING_AFTER} ms: closing kept connections so that it gets a child ` +
            `(if the responder has fewer children than workers x keepalive, ${keepalive} per worker, lower keepalive)`,
        );
      },
    });
  }

  validate(): Diagnostic[] {
    const out: Diagnostic[] = [];
    const st = statSync(this.rules.root, { throwIfNoEntry: false });
    if (!st?.isDirectory())
      out.push(
        diagnostic(
          'GK_FASTCGI_ROOT',
          `fastcgi root '${this.cfg.root}' is not a folder`,
          spanOf(this.cfg, 'root') ?? this.at,
          'fix the path (relative paths start at the .gate file)',
        ),
      );
    if (!/^\.[^./]+$/.test(this.rules.extension))
      out.push(diagnostic('GK_FASTCGI_SPLIT_PATH', `split_path '${this.rules.extension}' must look like '.php'`, spanOf(this.cfg, 'split_path') ?? this.at));
    if (this.rules.index.includes('/'))
      out.push(diagnostic('GK_FASTCGI_INDEX', `index '${this.rules.index}' must be a file name`, spanOf(this.cfg, 'index') ?? this.at));
    const proxyParam = (this.cfg.param ?? []).findIndex((p) => p.name.toUpperCase() === 'HTTP_PROXY');
    if (proxyParam >= 0) {
      out.push(
        diagnostic(
          'GK_FASTCGI_HTTPOXY',
          'scripts never get HTTP_PROXY: clients can set it with a Proxy header (httpoxy)',
          spanOf(this.cfg.param, proxyParam) ?? this.at,
          'pass the proxy under another name',
        ),
      );
    }
    return out;
  }

  async handle(ctx: Ctx): Promise<void> {
    if (this.closed) throw new HttpError(503, 'shutting down');
    const script = locateScript(ctx.mount, ctx.pathInMount, ctx.rawPath, this.rules, this.stats);
    const params = cgiMetaVariables(ctx, script, this.site);
    const body = await requestBody(ctx, params, this.buffering);
    for (const p of this.cfg.param ?? []) params[p.name] = ctx.render(p.value);
    const req: Request = { params: encodeParams(params), body, readTimeout: this.timeouts.read, sendTimeout: this.timeouts.send };
    const outcome = await this.run(ctx, req);
    if (outcome?.redirect !== undefined) await localRedirect(ctx, outcome.redirect);
  }

  /** run does the exchange on a pooled connection, once more on a new one when a reused connection turns out stale. */
  private async run(ctx: Ctx, req: Request): Promise<Outcome | undefined> {
    for (let fresh = false; ; fresh = true) {
      let conn;
      try {
        conn = await this.pool.acquire(fresh);
      } catch (e) {
        throw this.failure(ctx, e as Error);
      }
      if (ctx.res.destroyed) {
        // the client went away while this request waited for a connection
        this.pool.release(conn, true);
        ctx.res.statusCode = 499;
        ctx.res.end(); // a no-op on the closed connection: marks the response done
        return undefined;
      }
      try {
        const outcome = await exchange(ctx, conn, req, this.log);
        this.pool.release(conn, outcome.reusable);
        return outcome;
      } catch (e) {
        this.pool.release(conn, false);
        if (e instanceof UpstreamFailure && e.stale && !fresh) continue;
        if (e instanceof ClientGone) {
          ctx.res.statusCode = 499;
          if (!ctx.res.headersSent) ctx.res.end();
          return undefined;
        }
        if (e instanceof UpstreamFailure) throw this.failure(ctx, e);
        throw e;
      }
    }
  }

  /** failure turns a connect or exchange failure into the client's 502 or 504; the kernel logs it once, with the cause. */
  private failure(ctx: Ctx, e: Error): HttpError {
    const timeout = (e instanceof ConnectFailure || e instanceof UpstreamFailure) && e.timeout;
    ctx.vars.set('upstream', this.cfg.address.text);
    return timeout ? new HttpError(504, 'Gateway Timeout', { cause: e }) : new HttpError(502, 'Bad Gateway', { cause: e });
  }

  /** report shows this worker's connections to the responder (admin): PHP-FPM's own processes are its own to report. */
  report(): UnitReport {
    const c = this.pool.counts();
    return { pools: [{ name: `fastcgi ${this.cfg.address.text}`, kind: 'fastcgi', size: c.limit, processes: [], busy: c.busy, queue: c.queue }] };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pool.close();
  }
}

/**
 * requestBody is how the body goes to the responder: none, read whole first (request_buffering,
 * or a chunked body, whose CONTENT_LENGTH must be known since PHP reads no more of FCGI_STDIN
 * than it says, as Nginx does), or the stream itself.
 */
async function requestBody(ctx: Ctx, params: Record<string, string>, buffering: BodyBuffering): Promise<Buffer | Readable | undefined> {
  const h = ctx.req.headers;
  if (ctx.methodOverride !== undefined) {
    // a local redirect: the GET has no body
    delete params.CONTENT_LENGTH;
    delete params.CONTENT_TYPE;
    return undefined;
  }
  if (!buffering.enabled && h['transfer-encoding'] === undefined)
    return h['content-length'] !== undefined && h['content-length'] !== '0' ? ctx.body : undefined;
  const body = await bufferBody(ctx, buffering);
  if (!body) return undefined;
  params.CONTENT_LENGTH = String(body.length);
  return body.bytes ?? ctx.body;
}
