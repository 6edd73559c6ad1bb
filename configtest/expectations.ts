import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { Arg, Directive, Span } from '../dsl/ast.js';
import { error, type Diagnostic } from '../dsl/diagnostics.js';
import { parseText } from '../dsl/to-ast.js';
import { TEST_WORDS, wordsAt } from './vocabulary.js';

/** Check is one line of an expectation's block: what must be true of the answer. */
export type Check =
  | { readonly kind: 'status'; readonly status: number; readonly span: Span }
  | { readonly kind: 'route'; readonly route: string; readonly span: Span }
  | { readonly kind: 'handler'; readonly handler: string; readonly span: Span }
  | { readonly kind: 'header'; readonly name: string; readonly value?: string; readonly pattern?: Pattern; readonly span: Span }
  | { readonly kind: 'no_header'; readonly name: string; readonly span: Span }
  | { readonly kind: 'body'; readonly value?: string; readonly pattern?: Pattern; readonly span: Span };

/** Pattern is a `~ REGEX` of a check: compiled, and as written (for messages). */
export interface Pattern {
  readonly regex: RegExp;
  readonly text: string;
}

/** TestRequest is the request an expectation sends, as a client would put it on the wire. */
export interface TestRequest {
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** port is the URL's (80 or 443 when it names none): with the scheme, it picks the listener. */
  readonly port: number;
  /** target is the path and query as written, still percent-encoded. */
  readonly target: string;
  /** headers are sent in order; Host comes from an absolute URL unless one is given here. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: string;
}

/** Expectation is `expect METHOD URL { ... }`: a request, how often it is sent, and what must happen. */
export interface Expectation {
  readonly method: string;
  /** target is the URL as written. */
  readonly target: string;
  readonly request: TestRequest;
  readonly repeat: number;
  readonly checks: readonly Check[];
  readonly span: Span;
}

const USAGE = 'usage: expect METHOD URL { request_header NAME VALUE; status 200; header NAME [VALUE | ~ REGEX] }';
const METHOD = /^[A-Z]+$/;
/** VISIBLE is what a request target may hold on the wire (RFC 9112 3.2): anything else is percent-encoded. */
const VISIBLE = /^[\x21-\x7e]+$/;
const MAX_REPEAT = 10000;
/** PATH_HOST is the Host of a request written as a path: a client that was given the address, so the default server answers. */
const PATH_HOST = '127.0.0.1';

/** readExpectations parses a test file (.gate syntax); each mistake is a diagnostic at its place. */
export function readExpectations(text: string, file: string, diags: Diagnostic[]): Expectation[] {
  const out: Expectation[] = [];
  for (const d of parseText(text, file, diags).directives) {
    if (d.name !== 'expect') {
      diags.push(error('GK_TEST_UNKNOWN', `unknown test directive '${d.name}'`, d.nameSpan, USAGE));
      continue;
    }
    const e = expectationOf(d, diags);
    if (e) out.push(e);
  }
  return out;
}

function expectationOf(d: Directive, diags: Diagnostic[]): Expectation | undefined {
  const [method, target, extra] = d.args;
  if (!method || !target || extra) {
    diags.push(error('GK_TEST_BAD_ARGS', "'expect' takes a method and a URL", extra?.span ?? d.nameSpan, USAGE));
    return undefined;
  }
  if (!METHOD.test(method.value)) {
    diags.push(error('GK_TEST_BAD_ARGS', `invalid method '${method.value}'`, method.span, 'write it in capitals: GET, POST, HEAD...'));
    return undefined;
  }
  const where = whereOf(target, diags);
  if (!where) return undefined;
  const headers: (readonly [string, string])[] = [];
  let body: string | undefined;
  let repeat = 1;
  const checks: Check[] = [];
  const before = diags.length;
  for (const c of d.block ?? []) {
    const place = TEST_WORDS[c.name]?.place;
    if (place === 'check') {
      const k = checkOf(c, diags);
      if (k) checks.push(k);
      continue;
    }
    if (place !== 'request') {
      diags.push(
        error(
          'GK_TEST_UNKNOWN',
          `unknown check '${c.name}'`,
          c.nameSpan,
          `checks are ${wordsAt('check').join(', ')}; the request takes ${wordsAt('request').join(', ')}`,
        ),
      );
      continue;
    }
    const header = c.name === 'request_header' || c.name === 'request_basic_auth' ? headerOf(c, diags) : undefined;
    if (header) headers.push(header);
    else if (c.name === 'request_body') body = singleArg(c, diags) ?? body;
    else if (c.name === 'repeat') repeat = repeatOf(c, diags) ?? repeat;
  }
  if (!checks.length) {
    // a block whose checks were all wrong has its diagnostics already
    if (diags.length === before) diags.push(error('GK_TEST_NO_CHECKS', `'expect ${method.value} ${target.value}' checks nothing`, d.nameSpan, USAGE));
    return undefined;
  }
  // the URL's Host, unless the block gives its own (two give two, for a test of that 400)
  if (where.host !== undefined && !headers.some(([n]) => n === 'host')) headers.unshift(['host', where.host]);
  const request = { method: method.value, scheme: where.scheme, port: where.port, target: where.target, headers, ...(body === undefined ? {} : { body }) };
  return { method: method.value, target: target.value, request, repeat, checks, span: d.nameSpan };
}

/** Where is what a URL as written says: the scheme and port (the listener), the Host, the target. */
interface Where {
  readonly scheme: 'http' | 'https';
  readonly port: number;
  readonly host?: string;
  readonly target: string;
}

/** whereOf reads `expect`'s URL: a path (to the address: the default server), or http(s)://HOST[:PORT]/PATH. */
function whereOf(a: Arg, diags: Diagnostic[]): Where | undefined {
  const bad = (why: string): undefined => {
    diags.push(
      error(
        'GK_TEST_BAD_ARGS',
        `invalid URL '${a.value}': ${why}`,
        a.span,
        'write a path (/admin) or an absolute URL (https://example.test/admin), percent-encoded',
      ),
    );
    return undefined;
  };
  const text = a.value.replace(/#.*$/s, '');
  if (!VISIBLE.test(text)) return bad('a space or a character beyond ASCII');
  if (text.startsWith('/')) return { scheme: 'http', port: 80, host: PATH_HOST, target: text };
  const m = /^(https?):\/\/([^/?]*)(.*)$/i.exec(text);
  if (!m) return bad('it is neither a path nor an http:// or https:// URL');
  let url: URL;
  try {
    url = new URL(`${m[1]}://${m[2]}/`);
  } catch {
    return bad(`no host in '${m[2]}'`);
  }
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const rest = m[3].startsWith('/') ? m[3] : `/${m[3]}`;
  return { scheme, port: url.port ? Number(url.port) : scheme === 'https' ? 443 : 80, host: m[2], target: rest };
}

function headerOf(c: Directive, diags: Diagnostic[]): readonly [string, string] | undefined {
  const [a, b, extra] = c.args;
  if (!a || !b || extra) {
    wrongCheck(c, diags);
    return undefined;
  }
  if (c.name === 'request_basic_auth') return ['authorization', `Basic ${Buffer.from(`${a.value}:${b.value}`).toString('base64')}`];
  try {
    validateHeaderName(a.value);
    validateHeaderValue(a.value, b.value);
  } catch (e) {
    diags.push(error('GK_TEST_BAD_CHECK', `invalid request header '${a.value}': ${(e as Error).message}`, a.span));
    return undefined;
  }
  return [a.value.toLowerCase(), b.value];
}

function repeatOf(c: Directive, diags: Diagnostic[]): number | undefined {
  const n = singleArg(c, diags);
  if (n === undefined) return undefined;
  if (/^\d+$/.test(n) && Number(n) >= 1 && Number(n) <= MAX_REPEAT) return Number(n);
  diags.push(error('GK_TEST_BAD_CHECK', `invalid count '${n}' for 'repeat'`, c.args[0].span, `a whole number from 1 to ${MAX_REPEAT}`));
  return undefined;
}

function singleArg(c: Directive, diags: Diagnostic[]): string | undefined {
  if (c.args.length === 1) return c.args[0].value;
  wrongCheck(c, diags);
  return undefined;
}

function wrongCheck(c: Directive, diags: Diagnostic[]): undefined {
  diags.push(error('GK_TEST_BAD_CHECK', `invalid '${c.name}'`, c.nameSpan, `usage: ${TEST_WORDS[c.name].usage}`));
  return undefined;
}

function checkOf(c: Directive, diags: Diagnostic[]): Check | undefined {
  const [a, b, extra] = c.args;
  const span = c.nameSpan;
  switch (c.name) {
    case 'status':
      return a && !b && /^[1-5]\d\d$/.test(a.value) ? { kind: 'status', status: Number(a.value), span } : wrongCheck(c, diags);
    case 'route':
      return a && !b ? { kind: 'route', route: a.value, span } : wrongCheck(c, diags);
    case 'handler':
      return a && !b ? { kind: 'handler', handler: a.value, span } : wrongCheck(c, diags);
    case 'no_header':
      return a && !b ? { kind: 'no_header', name: a.value.toLowerCase(), span } : wrongCheck(c, diags);
    case 'header': {
      if (!a || (b && !b.quoted && b.value === '~' ? c.args.length !== 3 : extra)) return wrongCheck(c, diags);
      const expected = valueOrPattern(c.args.slice(1), diags);
      return expected && { kind: 'header', name: a.value.toLowerCase(), ...expected, span };
    }
    default: {
      // body
      if (!a || (!a.quoted && a.value === '~' ? c.args.length !== 2 : b)) return wrongCheck(c, diags);
      const expected = valueOrPattern(c.args, diags);
      return expected && { kind: 'body', ...expected, span };
    }
  }
}

/** valueOrPattern reads nothing, `VALUE` or `~ REGEX` (a quoted "~" is a value); a bad regex is a diagnostic. */
function valueOrPattern(args: readonly Arg[], diags: Diagnostic[]): { value?: string; pattern?: Pattern } | undefined {
  const [a, b] = args;
  if (!a) return {};
  if (a.quoted || a.value !== '~') return { value: a.value };
  try {
    return { pattern: { regex: new RegExp(b.value), text: b.value } };
  } catch (e) {
    diags.push(error('GK_TEST_BAD_CHECK', `invalid regex '${b.value}'`, b.span, (e as Error).message));
    return undefined;
  }
}
