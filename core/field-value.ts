// Controls other than tab cannot go in a header value: a variable holding one loses it.
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f]/g;

/**
 * fieldText makes a request variable's value fit a header field. Controls are dropped. A
 * decoded variable ($path, $arg_*, $1, $user) may hold any character, and a header only
 * ASCII for sure (Node refuses a '€', and writes 0x80-0xFF as one byte or two depending on
 * the body), so outside printable ASCII it goes percent-encoded as UTF-8, '%' too: as it
 * was in the URL. Values that are the client's own bytes ($http_*, $cookie_*, $uri,
 * $query) go as they came.
 */
export function fieldText(name: string, value: string): string {
  const v = value.replace(CONTROLS, '');
  if (sentAsIs(name)) return v;
  if (/^[\t\x20-\x24\x26-\x7e]*$/.test(v)) return v;
  return v.replace(/%|[^\t\x20-\x7e]+/g, (m) =>
    m === '%' ? '%25' : Array.from(Buffer.from(m, 'utf8'), (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/**
 * sentAsIs tells whether a request variable's value is as the client sent it, escapes and
 * all ($uri, $query, $http_*, $cookie_*), rather than decoded text ($path, $1..$9, $arg_*).
 */
export function sentAsIs(name: string): boolean {
  return name === 'uri' || name === 'query' || name.startsWith('http_') || name.startsWith('cookie_');
}
