import type { Ctx } from './context.js';
import { fieldText } from './field-value.js';
import type { RouteEntry } from './router.js';

/**
 * addSlash answers a request for a prefix route's prefix without its trailing slash
 * (`/adminer` for `route /adminer/`) with 301 to the prefix, query kept, as Nginx does for
 * such locations: an application mounted there builds its links from the slash form.
 * Location is a path: the prefix percent-encoded, so it never reads as another host.
 */
export function addSlash(ctx: Ctx, entry: RouteEntry): Promise<void> {
  const prefix = (entry.matcher as { prefix: string }).prefix;
  const path = encodeURI(prefix).replace(/[?#]/g, (c) => (c === '?' ? '%3F' : '%23'));
  const location = ctx.query ? `${path}?${fieldText('query', ctx.query)}` : path;
  return ctx.send(301, '301 Moved Permanently\n', { location, 'content-type': 'text/plain; charset=utf-8' });
}
