import type { Ctx, TemplateLike, Unit } from '../../core/index.js';
import type { RespondConfig } from './schema.js';

const NO_BODY = new Set([204, 304]);

/** RespondUnit answers every request with its status and body; a static body is encoded once. */
export class RespondUnit implements Unit {
  private readonly status: number;
  private readonly template: TemplateLike;
  private readonly fixed: Buffer | undefined;
  private readonly type: string;

  constructor(cfg: RespondConfig) {
    this.status = cfg.status;
    this.template = cfg.body;
    this.type = cfg.content_type ?? 'text/plain; charset=utf-8';
    this.fixed = this.template.isStatic ? Buffer.from(this.template.render(() => undefined)) : undefined;
  }

  handle(ctx: Ctx): Promise<void> {
    const body = this.fixed ?? Buffer.from(ctx.render(this.template));
    if (NO_BODY.has(this.status)) {
      ctx.res.writeHead(this.status);
      ctx.res.end();
      return Promise.resolve();
    }
    const res = ctx.res;
    res.writeHead(this.status, { 'content-type': this.type, 'content-length': body.length });
    res.end(ctx.req.method === 'HEAD' ? undefined : body);
    return Promise.resolve();
  }
}
