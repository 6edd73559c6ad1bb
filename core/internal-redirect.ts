import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';
import type { Unit } from './plugin.js';

/** MAX_INTERNAL_REDIRECTS bounds how often one request is routed again (Nginx also stops at 10). */
export const MAX_INTERNAL_REDIRECTS = 10;

/** Trail is what a request routed again carries along: how often, and the middleware that already wraps it. */
interface Trail {
  depth: number;
  readonly ran: Set<Unit>;
}

// Keyed by Node's request, which every Ctx of one request shares; made only on a redirect.
const trails = new WeakMap<IncomingMessage, Trail>();

/**
 * redirectTrail records one more internal redirect of `req`, whose route so far ran the
 * middleware `ran`, and returns every unit that wraps the request already. The next route
 * leaves those out of its chain: a server's `log` writes one line, `compress` encodes once,
 * `headers` adds once, `limit` counts once; middleware of the new route alone still runs
 * (an `auth` on the PHP route guards index.php reached from /). Past
 * MAX_INTERNAL_REDIRECTS it throws a 500: a loop, as Nginx's "internal redirection cycle".
 */
export function redirectTrail(req: IncomingMessage, ran: readonly Unit[]): ReadonlySet<Unit> {
  let t = trails.get(req);
  if (!t) trails.set(req, (t = { depth: 0, ran: new Set() }));
  if (++t.depth > MAX_INTERNAL_REDIRECTS) throw new HttpError(500, `internal redirection cycle: more than ${MAX_INTERNAL_REDIRECTS} internal redirects`);
  for (const u of ran) t.ran.add(u);
  return t.ran;
}
