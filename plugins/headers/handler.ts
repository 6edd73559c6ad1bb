import type { IncomingMessage } from 'node:http';
import {
  diagnostic,
  spanOf,
  type Ctx,
  type Diagnostic,
  type Next,
  type ResponseHead,
  type Span,
  type TemplateLike,
  type HandlerUnit,
} from '../../core/index.js';
import type { HeadersConfig } from './schema.js';

/** Op is one header change; ops run in the order remove, set, add, default. */
type Op =
  | { readonly kind: 'remove'; readonly name: string; readonly prefix: boolean; readonly at: Span }
  | { readonly kind: 'set' | 'add' | 'default'; readonly name: string; readonly value: TemplateLike; readonly at: Span };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * HeadersUnit applies header operations. On the request side they run before the rest of
 * the chain, so handlers, upstreams and applications see them. On the response side they
 * run just before the head is written (a handler's own headers included, so `remove`
 * and `set` win over them), with request variables such as $status resolved then.
 */
export class HeadersUnit implements HandlerUnit {
  private readonly ops: readonly Op[];
  private readonly request: boolean;

  constructor(
    cfg: HeadersConfig,
    private readonly at: Span,
  ) {
    this.request = cfg.side === 'request';
    const ops: Op[] = [];
    for (const names of cfg.remove ?? [])
      names.forEach((n, i) => ops.push({ kind: 'remove', name: n.replace(/\*$/, '').toLowerCase(), prefix: n.endsWith('*'), at: spanOf(names, i) ?? at }));
    for (const kind of ['set', 'add', 'default'] as const)
      for (const o of cfg[kind] ?? []) ops.push({ kind, name: o.name, value: o.value, at: spanOf(o, 'name') ?? at });
    this.ops = ops;
  }

  validate(): Diagnostic[] {
    const out: Diagnostic[] = [];
    if (this.ops.length === 0) out.push(diagnostic('GK_HEADERS_EMPTY', "'headers' changes nothing", this.at, 'add set, add, default or remove'));
    for (const op of this.ops) {
      if (op.name === '' || !TOKEN.test(op.name))
        out.push(diagnostic('GK_HEADERS_BAD_NAME', `invalid header name '${op.name}' in 'headers'`, op.at, 'a header name is letters, digits and -'));
      if (op.kind !== 'remove' && !/^[\t\x20-\x7e]*$/.test(op.value.source)) {
        out.push(
          diagnostic(
            'GK_HEADERS_BAD_VALUE',
            `the value of '${op.name}' in 'headers' is not printable ASCII`,
            op.at,
            "percent-encode other characters, or use RFC 8187 (filename*=UTF-8''caf%C3%A9.txt)",
          ),
        );
      }
    }
    return out;
  }

  handle(ctx: Ctx, next: Next): Promise<void> {
    if (this.request) applyToRequest(ctx.req, this.ops, ctx);
    else ctx.onHead((head) => applyToResponse(head, this.ops, ctx));
    return next();
  }
}

/** An empty value sends no header, as Nginx's add_header: `set` then leaves none, `add` and `default` add none. */
function applyToResponse(res: ResponseHead, ops: readonly Op[], ctx: Ctx): void {
  for (const op of ops) {
    if (op.kind === 'remove') {
      if (!op.prefix) res.removeHeader(op.name);
      else for (const h of res.getHeaderNames()) if (h.startsWith(op.name)) res.removeHeader(h);
      continue;
    }
    if (op.kind === 'default' && res.hasHeader(op.name)) continue;
    const value = ctx.renderField(op.value, op.name);
    if (value === '') {
      if (op.kind === 'set') res.removeHeader(op.name);
      continue;
    }
    if (op.kind === 'add') res.appendHeader(op.name, value);
    else res.setHeader(op.name, value);
  }
}

/** applyToRequest changes both views handlers read: headers (by name) and rawHeaders (as sent, which proxies forward). */
function applyToRequest(req: IncomingMessage, ops: readonly Op[], ctx: Ctx): void {
  const headers = req.headers;
  const raw = req.rawHeaders;
  const drop = (test: (lower: string) => boolean): void => {
    for (const k of Object.keys(headers)) if (test(k)) delete headers[k];
    for (let i = raw.length - 2; i >= 0; i -= 2) if (test(raw[i].toLowerCase())) raw.splice(i, 2);
  };
  for (const op of ops) {
    const lower = op.name.toLowerCase();
    if (op.kind === 'remove') {
      drop(op.prefix ? (h) => h.startsWith(op.name) : (h) => h === op.name);
      continue;
    }
    if (op.kind === 'default' && headers[lower] !== undefined) continue;
    const value = ctx.renderField(op.value, op.name);
    if (op.kind === 'set' || op.kind === 'default') drop((h) => h === lower);
    if (value === '') continue; // an empty value sends no header
    const had = headers[lower];
    headers[lower] = had === undefined ? value : Array.isArray(had) ? [...had, value] : `${had}${lower === 'cookie' ? '; ' : ', '}${value}`;
    raw.push(op.name, value);
  }
}
