import { relative } from 'node:path';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { matcherText, type RouteDecl } from '../core/config.js';
import { error, type Diagnostic } from '../dsl/diagnostics.js';
import type { Answer, OfflineGate } from './offline-gate.js';
import type { Check, Expectation } from './expectations.js';

const routeText = (r: RouteDecl | undefined): string => (r ? matcherText(r.matcher) : 'none');

/** routeOf names the route that served an answer, as `gatekit routes` writes it. */
function routeOf(a: Answer): string {
  return routeText(a.served.route);
}

/** verdict runs an expectation on `gate` and returns its failures; a request that got no answer (the connection cut) is one. */
export async function verdict(gate: OfflineGate, e: Expectation): Promise<Diagnostic[]> {
  let a: Answer;
  try {
    a = await gate.run(e.request, e.repeat);
  } catch (err) {
    return [
      error(
        'GK_TEST_FAILED',
        `no answer: ${(err as Error).message}`,
        e.span,
        'the server cut the connection (a response that failed half-way), or its handler never answered',
      ),
    ];
  }
  return failures(e, a);
}

/** failures compares an answer with an expectation's checks: one diagnostic, at its check, per check that fails. */
export function failures(e: Expectation, a: Answer): Diagnostic[] {
  return e.checks
    .map((c) => failure(c, a))
    .filter((d) => d !== undefined)
    .map((d) => withLog(d, a));
}

function failure(c: Check, a: Answer): Diagnostic | undefined {
  const fail = (message: string, help?: string): Diagnostic => error('GK_TEST_FAILED', message, c.span, help);
  switch (c.kind) {
    case 'status':
      return a.status === c.status ? undefined : fail(`expected status ${c.status}, got ${a.status}${servedBy(a)}`, locationHint(a));
    case 'route':
      return routeOf(a) === c.route ? undefined : fail(`expected route ${c.route}, got ${routeOf(a)}${passedBy(a)}`);
    case 'handler':
      return (a.served.handler ?? 'none') === c.handler ? undefined : fail(`expected handler ${c.handler}, got ${a.served.handler ?? 'none'}${servedBy(a)}`);
    case 'header': {
      const text = headerText(a, c.name);
      if (c.pattern ? text !== undefined && c.pattern.regex.test(text) : c.value === undefined ? text !== undefined : text === c.value) return undefined;
      const wanted = c.pattern ? ` matching ~ ${c.pattern.text}` : c.value === undefined ? '' : ` "${c.value}"`;
      return fail(`expected header ${c.name}${wanted}, got ${text === undefined ? 'none' : `"${text}"`}`);
    }
    case 'no_header': {
      const text = headerText(a, c.name);
      return text === undefined ? undefined : fail(`expected no header ${c.name}, got "${text}"`);
    }
    case 'body': {
      const body = bodyText(a);
      if (c.pattern ? c.pattern.regex.test(body) : body === c.value) return undefined;
      return fail(
        `expected body ${c.pattern ? `matching ~ ${c.pattern.text}` : JSON.stringify(c.value)}, got ${JSON.stringify(body.length > 200 ? `${body.slice(0, 200)}...` : body)}`,
      );
    }
  }
}

/** servedBy says where a request was served, for a message: route and line, and the routes an internal redirect left. */
function servedBy(a: Answer): string {
  const r = a.served.route;
  return r ? ` (route ${routeText(r)}, line ${r.span.line}${redirects(a) ? `, ${redirects(a)}` : ''})` : ' (no route)';
}

/** passedBy names the routes an internal redirect left (index files, fallbacks), for a message. */
function passedBy(a: Answer): string {
  return redirects(a) ? ` (${redirects(a)})` : '';
}

function redirects(a: Answer): string {
  return a.served.via.length ? `after an internal redirect from ${a.served.via.map(routeText).join(', then ')}` : '';
}

function headerText(a: Answer, name: string): string | undefined {
  const got = a.headers[name];
  return Array.isArray(got) ? got.join(', ') : got;
}

/** bodyText is the answer's body as text, decoded when it was compressed (the client asked for it). */
function bodyText(a: Answer): string {
  const coding = String(a.headers['content-encoding'] ?? '').toLowerCase();
  try {
    const decode = { gzip: gunzipSync, deflate: inflateSync, br: brotliDecompressSync }[coding];
    return (decode ? decode(a.body) : a.body).toString('utf8');
  } catch {
    return a.body.toString('utf8');
  }
}

function locationHint(a: Answer): string | undefined {
  const loc = a.headers.location;
  return loc ? `it redirected to ${loc}` : undefined;
}

/** withLog adds what the server logged while it answered (a 500's cause, a refused password) to a failure's help. */
function withLog(d: Diagnostic, a: Answer): Diagnostic {
  if (!a.logged.length) return d;
  const log = a.logged
    .slice(0, 3)
    .map((l) => (l.length > 240 ? `${l.slice(0, 240)}...` : l))
    .join('\n         ');
  return { ...d, help: `${d.help ? `${d.help}\n` : ''}the server logged: ${log}` };
}

/** title is an expectation's line in the report: method and URL as written, and where. */
export function title(e: Expectation): string {
  return `${e.method} ${e.target}  (${relative(process.cwd(), e.span.file) || e.span.file}:${e.span.line}:${e.span.col})`;
}
