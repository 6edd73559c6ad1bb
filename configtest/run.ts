import { relative } from 'node:path';
import { matcherText } from '../core/config.js';
import { error, type Diagnostic } from '../dsl/diagnostics.js';
import type { Answer } from './offline-gate.js';
import type { Check, Expectation } from './expectations.js';

/** routeOf names the route that served an answer, as `gatekit routes` writes it. */
function routeOf(a: Answer): string {
  return a.served.route ? matcherText(a.served.route.matcher) : 'none';
}

/** failures compares an answer with an expectation's checks: one diagnostic, at its check, per check that fails. */
export function failures(e: Expectation, a: Answer): Diagnostic[] {
  return e.checks.map((c) => failure(c, a)).filter((d) => d !== undefined);
}

function failure(c: Check, a: Answer): Diagnostic | undefined {
  const at = (line: number): string => (a.served.route ? ` (route ${routeOf(a)}, line ${line})` : ' (no route)');
  const where = at(a.served.route?.decl.span.line ?? 0);
  switch (c.kind) {
    case 'status':
      return a.status === c.status ? undefined : error('GK_TEST_FAILED', `expected status ${c.status}, got ${a.status}${where}`, c.span, locationHint(a));
    case 'route':
      return routeOf(a) === c.route ? undefined : error('GK_TEST_FAILED', `expected route ${c.route}, got ${routeOf(a)}`, c.span);
    case 'handler':
      return (a.served.handler ?? 'none') === c.handler ? undefined : error('GK_TEST_FAILED', `expected handler ${c.handler}, got ${a.served.handler ?? 'none'}${where}`, c.span);
    case 'header': {
      const got = a.headers[c.name];
      const text = Array.isArray(got) ? got.join(', ') : got;
      if (c.value === undefined ? text !== undefined : text === c.value) return undefined;
      return error('GK_TEST_FAILED', `expected header ${c.name}${c.value === undefined ? '' : ` "${c.value}"`}, got ${text === undefined ? 'none' : `"${text}"`}`, c.span);
    }
  }
}

function locationHint(a: Answer): string | undefined {
  const loc = a.headers.location;
  return loc ? `it redirected to ${loc}` : undefined;
}

/** title is an expectation's line in the report: method and URL as written, and where. */
export function title(e: Expectation): string {
  return `${e.method} ${e.target}  (${relative(process.cwd(), e.span.file) || e.span.file}:${e.span.line})`;
}
