import { diagnostic, HttpError, spanOf, type Ctx, type Diagnostic, type Span, type TemplateLike, type HandlerUnit } from '../../core/index.js';
import { encodeAsSent, renderLocation } from './location.js';
import type { RedirectConfig } from './schema.js';

const REASON: Record<number, string> = { 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect', 308: 'Permanent Redirect' };
/** HOST is a host name or bracketed IPv6 literal a redirect may put in a URL. */
const HOST = /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*|\[[0-9a-f:.]+\])$/;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * RedirectUnit answers every request with a redirect: to its target template, or, in
 * `https` mode, to the same host and URI over HTTPS (the classic port-80 server).
 */
export class RedirectUnit implements HandlerUnit {
  private readonly status: number;
  private readonly target: TemplateLike;
  private readonly https: boolean;
  private readonly portSuffix: string;

  constructor(
    private readonly cfg: RedirectConfig,
    private readonly at: Span,
  ) {
    this.status = cfg.status;
    this.target = cfg.target;
    // 'HTTPS' means the keyword too: as a relative target it would name a path nobody wants.
    this.https = cfg.target.source.toLowerCase() === 'https';
    this.portSuffix = cfg.port === undefined || cfg.port === 443 ? '' : `:${cfg.port}`;
  }

  validate(): Diagnostic[] {
    const { port, target } = this.cfg;
    // A status given in the file has a span; the default 301 has none.
    const statusGiven = spanOf(this.cfg, 'status') !== undefined;
    if (port !== undefined && !this.https) {
      const help =
        !statusGiven && REASON[port]
          ? `the status comes first: write redirect ${port} ${target.source}`
          : `write redirect https ${port}, or put the port in the target URL`;
      return [diagnostic('GK_REDIRECT_PORT', `a port is only allowed after 'https' in 'redirect'`, spanOf(this.cfg, 'port') ?? this.at, help)];
    }
    if (target.source === '') return [diagnostic('GK_REDIRECT_TARGET', "empty target for 'redirect'", this.at)];
    // `redirect 301` reads as a target '301' after the default status: surely a missing target.
    if (!statusGiven && /^\d+$/.test(target.source) && REASON[Number(target.source)]) {
      return [
        diagnostic(
          'GK_REDIRECT_TARGET',
          `missing target after status '${target.source}' in 'redirect'`,
          spanOf(this.cfg, 'target') ?? this.at,
          `write the target after the status: redirect ${target.source} /new/place`,
        ),
      ];
    }
    return [];
  }

  async handle(ctx: Ctx): Promise<void> {
    const location = this.https ? this.httpsLocation(ctx) : renderLocation(this.target, ctx);
    const reason = REASON[this.status];
    const body = ctx.method === 'GET' || ctx.method === 'HEAD' ? `<a href="${location.replace(/[&<>"']/g, (c) => ESCAPES[c])}">${reason}</a>.\n` : '';
    await ctx.send(this.status, body, body ? { location, 'content-type': 'text/html; charset=utf-8' } : { location });
  }

  /** httpsLocation is https://$host[:PORT]$uri, refusing a Host that is not a plain host name. */
  private httpsLocation(ctx: Ctx): string {
    const host = ctx.host.includes(':') && !ctx.host.startsWith('[') ? `[${ctx.host}]` : ctx.host;
    if (!HOST.test(host)) throw new HttpError(400, 'bad Host header', { expose: true });
    return `https://${host}${this.portSuffix}${encodeAsSent(ctx.uri)}`;
  }
}
