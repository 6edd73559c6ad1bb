import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { diagnostic, spanOf, type Ctx, type Diagnostic, type Logger, type Next, type Sent, type Span, type HandlerUnit } from '../../core/index.js';
import { compileFormat, type LineFormat } from './format.js';
import type { LogConfig } from './schema.js';
import { LineWriter } from './writer.js';

/** A trusted X-Request-ID must look like an id: no spaces, quotes or controls, at most 200 characters. */
const SANE_ID = /^[A-Za-z0-9._:@+=/-]{1,200}$/;

/** CLIENT_CLOSED is logged when the client went away before the response was complete (nginx's 499). */
const CLIENT_CLOSED = 499;

/**
 * LogUnit writes one access-log line per request from the kernel's record of its response
 * (ctx.sent), once the exchange is over: the response done, the client gone, an upgraded
 * connection closed. What it logs does not depend on where it sits among the middleware.
 * It also gives every request an X-Request-ID header that upstreams and applications see.
 */
export class LogUnit implements HandlerUnit {
  private readonly format: LineFormat;
  private readonly target: string;
  private readonly trust: boolean;
  private readonly targetAt: Span;
  private writer: LineWriter | undefined;

  constructor(
    cfg: LogConfig,
    private readonly at: Span,
    private readonly log: Logger,
  ) {
    this.format = compileFormat(cfg.format);
    this.target = cfg.to;
    this.trust = cfg.trust_request_id;
    this.targetAt = spanOf(cfg, 'to') ?? at;
  }

  validate(): Diagnostic[] {
    if (this.target === 'stdout' || this.target === 'stderr') return [];
    const problem = unwritable(this.target);
    return problem
      ? [
          diagnostic(
            'GK_LOG_TARGET',
            `cannot write access log '${this.target}': ${problem}`,
            this.targetAt,
            'check that the folder exists and that gatekit may write there',
          ),
        ]
      : [];
  }

  async provision(): Promise<void> {
    this.writer = await LineWriter.open(this.target, this.log);
  }

  handle(ctx: Ctx, next: Next): Promise<void> {
    if (this.trust) {
      const given = ctx.req.headers['x-request-id'];
      if (typeof given === 'string' && SANE_ID.test(given)) ctx.vars.set('request_id', given);
    }
    if (ctx.req.headers['x-request-id'] !== ctx.requestId) setRequestHeader(ctx.req, 'X-Request-ID', ctx.requestId);
    ctx.onSent((sent) => this.write(ctx, sent));
    return next();
  }

  private write(ctx: Ctx, sent: Sent): void {
    const status = sent.clientLeft ? CLIENT_CLOSED : sent.status;
    this.writer?.line(this.format(ctx, { status, bytes: sent.bodyBytes, duration: sent.totalMs }));
  }

  async reopen(): Promise<void> {
    if (!this.writer || this.target === 'stdout' || this.target === 'stderr') return;
    await this.writer.reopen();
    this.log.info('access log reopened', { file: this.target, pid: process.pid });
  }

  async close(): Promise<void> {
    const w = this.writer;
    this.writer = undefined;
    await w?.close();
  }
}

/** unwritable says why a log file cannot be appended to, or undefined when it can. */
function unwritable(file: string): string | undefined {
  try {
    if (existsSync(file)) {
      if (statSync(file).isDirectory()) return 'it is a directory';
      accessSync(file, constants.W_OK);
    } else accessSync(dirname(file), constants.W_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
  }
}

/** setRequestHeader replaces a request header in both views handlers read (headers and rawHeaders). */
function setRequestHeader(req: IncomingMessage, name: string, value: string): void {
  const lower = name.toLowerCase();
  req.headers[lower] = value;
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i].toLowerCase() === lower) raw.splice(i, 2);
  raw.push(name, value);
}
