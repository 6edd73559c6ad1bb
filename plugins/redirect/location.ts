import { charSet, percentEncode, urlText, type Ctx, type TemplateLike } from '../../core/index.js';

/** SENDABLE is what a header value may hold without breaking the response: printable ASCII. */
const SENDABLE = charSet('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/**
 * renderLocation renders a redirect target for the Location header: each variable's value is
 * percent-encoded for the part of the URL it lands in (ctx.renderUrl: no request can add a
 * query parameter, leave the host, or make the header unsendable), the rest of the target is
 * made sendable, and a relative result never starts with '//' or '/\', which browsers read as
 * the start of another host.
 */
export function renderLocation(target: TemplateLike, ctx: Ctx): string {
  const location = percentEncode(ctx.renderUrl(target), SENDABLE);
  // A target written as '//host/...' names another host on purpose; one rendered so does not.
  return target.source.startsWith('//') ? location : location.replace(/^[/\\]{2,}/, '/');
}

/** encodeAsSent escapes what a URI may not hold in $uri, the path and query as the client sent them. */
export function encodeAsSent(uri: string): string {
  return urlText('uri', uri, '/');
}
