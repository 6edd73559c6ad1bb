import type { Ctx } from '../core/index.js';

/**
 * localRedirect serves a gateway's local redirect (RFC 3875 6.2.2: a script's `Location`
 * that is a path, with no status and no body): the server's own answer for `location` (a
 * path, maybe with ?query) goes to the client instead. It is fetched as a GET (a HEAD stays
 * a HEAD) without the request body, through ctx.redispatch, so it counts towards the one
 * limit of internal redirects.
 */
export function localRedirect(ctx: Ctx, location: string): Promise<void> {
  return ctx.redispatch(location, { method: ctx.method === 'HEAD' ? 'HEAD' : 'GET' });
}
