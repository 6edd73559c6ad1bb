import type { Directive, Span } from '../dsl/ast.js';
import { error, type Diagnostic } from '../dsl/diagnostics.js';
import { parseText } from '../dsl/to-ast.js';

/** Check is one line of an expectation's block: what must be true of the answer. */
export type Check =
  | { readonly kind: 'status'; readonly status: number; readonly span: Span }
  | { readonly kind: 'route'; readonly route: string; readonly span: Span }
  | { readonly kind: 'handler'; readonly handler: string; readonly span: Span }
  | { readonly kind: 'header'; readonly name: string; readonly value?: string; readonly span: Span };

/** Expectation is `expect METHOD URL { checks }`: a request, and what must happen to it. */
export interface Expectation {
  readonly method: string;
  /** target is the URL as written: absolute (host and scheme from it) or a path. */
  readonly target: string;
  readonly url: URL;
  readonly checks: readonly Check[];
  readonly span: Span;
}

const USAGE = 'usage: expect METHOD URL { status 200; route "/api/"; handler proxy; header Location "https://..." }';
const METHOD = /^[A-Z]+$/;

/** readExpectations parses a test file (.gate syntax); each mistake is a diagnostic at its place. */
export function readExpectations(text: string, file: string, diags: Diagnostic[]): Expectation[] {
  const out: Expectation[] = [];
  for (const d of parseText(text, file, diags).directives) {
    if (d.name !== 'expect') { diags.push(error('GK_TEST_UNKNOWN', `unknown test directive '${d.name}'`, d.nameSpan, USAGE)); continue; }
    const [method, target, extra] = d.args;
    if (!method || !target || extra) { diags.push(error('GK_TEST_BAD_ARGS', "'expect' takes a method and a URL", extra?.span ?? d.nameSpan, USAGE)); continue; }
    if (!METHOD.test(method.value)) { diags.push(error('GK_TEST_BAD_ARGS', `invalid method '${method.value}'`, method.span, 'write it in capitals: GET, POST, HEAD...')); continue; }
    let url: URL;
    try { url = new URL(target.value, 'http://localhost'); } catch {
      diags.push(error('GK_TEST_BAD_ARGS', `invalid URL '${target.value}'`, target.span, 'write a path (/admin) or an absolute URL (https://example.test/admin)'));
      continue;
    }
    if (!d.block?.length) { diags.push(error('GK_TEST_NO_CHECKS', `'expect ${method.value} ${target.value}' checks nothing`, d.nameSpan, USAGE)); continue; }
    const checks = d.block.map((c) => checkOf(c, diags)).filter((c) => c !== undefined);
    out.push({ method: method.value, target: target.value, url, checks, span: d.nameSpan });
  }
  return out;
}

function checkOf(c: Directive, diags: Diagnostic[]): Check | undefined {
  const [a, b, extra] = c.args;
  const wrong = (usage: string): undefined => { diags.push(error('GK_TEST_BAD_CHECK', `invalid '${c.name}' check`, c.nameSpan, `usage: ${usage}`)); return undefined; };
  switch (c.name) {
    case 'status': return a && !b && /^[1-5]\d\d$/.test(a.value) ? { kind: 'status', status: Number(a.value), span: c.nameSpan } : wrong('status CODE');
    case 'route': return a && !b ? { kind: 'route', route: a.value, span: c.nameSpan } : wrong('route "= /exact" | route "~ REGEX" | route /prefix/');
    case 'handler': return a && !b ? { kind: 'handler', handler: a.value, span: c.nameSpan } : wrong('handler NAME (none: no route)');
    case 'header': return a && !extra ? { kind: 'header', name: a.value.toLowerCase(), ...(b ? { value: b.value } : {}), span: c.nameSpan } : wrong('header NAME [VALUE]');
    default:
      diags.push(error('GK_TEST_UNKNOWN', `unknown check '${c.name}'`, c.nameSpan, 'checks are status, route, handler and header'));
      return undefined;
  }
}
