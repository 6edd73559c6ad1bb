import { DONE, type Ctx, type TemplateLike, type HandlerUnit } from '../../core/index.js';
import type { RespondConfig } from './schema.js';

const NO_BODY = new Set([204, 304]);

/** RespondUnit answers every request with its status and body; a static body and its headers are built once. */
export class RespondUnit implements HandlerUnit {
  private readonly status: number;
  private readonly template: TemplateLike;
  private readonly type: string;
  private readonly fixed: { readonly body: Buffer; readonly headers: Readonly<Record<string, string | number>> } | undefined;

  constructor(cfg: RespondConfig) {
    this.status = cfg.status;
    this.template = cfg.body;
    this.type = cfg.content_type;
    if (this.template.isStatic) {
      const body = Buffer.from(this.template.render(() => undefined));
      this.fixed = { body, headers: { 'content-type': this.type, 'content-length': body.length } };
    }
  }

  handle(ctx: Ctx): Promise<void> {
    const res = ctx.res;
    if (NO_BODY.has(this.status)) {
      res.writeHead(this.status);
      res.end();
      return DONE;
    }
    const body = this.fixed?.body ?? Buffer.from(ctx.render(this.template));
    res.writeHead(this.status, this.fixed?.headers ?? { 'content-type': this.type, 'content-length': body.length });
    res.end(ctx.req.method === 'HEAD' ? undefined : body);
    return DONE;
  }
}
