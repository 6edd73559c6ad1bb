import { sentAsIs } from './field-value.js';

/** CharSet marks the ASCII characters percentEncode leaves as they are (see charSet). */
export type CharSet = Uint8Array;

/** UrlPart is where in a URL a variable lands; 'start' is before anything (the variable begins the URL). */
type UrlPart = 'start' | 'authority' | 'path' | 'query' | 'fragment';

// RFC 3986 2.2 and 2.3.
const UNRESERVED = '-._~';
const SUB_DELIMS = "!$&'()*+,;=";
// A query or fragment value keeps neither the separators of parameters (& ; =), nor '+' (a
// space in forms), nor '#'; a host keeps no '/', '?', '#' or '@' that would end it or make it
// user-info; a path keeps its slashes, but no '?' or '#'. '%' is always encoded: the value is text.
const QUERY_TEXT = charSet(`${UNRESERVED}!$'()*,:@/?`);
const TEXT_IN: Readonly<Record<Exclude<UrlPart, 'start'>, CharSet>> = {
  authority: charSet(`${UNRESERVED}${SUB_DELIMS}:[]`),
  path: charSet(`${UNRESERVED}${SUB_DELIMS}:@/[]`),
  query: QUERY_TEXT,
  fragment: QUERY_TEXT,
};
// What a URI holds as it is, escapes included: for URL text the client sent ($uri, $query).
const AS_SENT = charSet(`${UNRESERVED}${SUB_DELIMS}:@/?#[]%`);

/**
 * urlText makes a request variable's value fit the place in a URL where it lands, `before`
 * being the URL text rendered before it. A value is text, encoded as a component of that
 * part (in a query, `a&b=c` stays one value: `a%26b%3Dc`), except URL text the client sent
 * where it is that part: $uri where a path goes, $query in a query, and any client's value
 * that begins the URL (`redirect $http_referer`); those keep their escapes. A value that
 * follows a host and starts with '/' begins the path ($uri, $path, a $1 of '/x'). Values
 * from headers are Latin-1 bytes (as Node reads them); decoded ones go as UTF-8.
 */
export function urlText(name: string, value: string, before: string): string {
  let part = urlPart(before);
  if (part === 'authority' && value.charCodeAt(0) === 47 /* / */) part = 'path';
  const sent = sentAsIs(name);
  if (sent && (part === 'start' || (name === 'uri' && part === 'path') || (name === 'query' && part === 'query'))) {
    return percentEncode(value, AS_SENT, true);
  }
  return percentEncode(value, TEXT_IN[part === 'start' ? 'path' : part], sent);
}

/** urlPart tells which part of a URL the text `before` stops in. */
function urlPart(before: string): UrlPart {
  if (before === '') return 'start';
  if (before.includes('#')) return 'fragment';
  if (before.includes('?')) return 'query';
  return /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/[^/]*$/.test(before) ? 'authority' : 'path';
}

/**
 * percentEncode writes every character of `text` outside `keep` as %XX: its UTF-8 bytes,
 * or, with `latin1`, the character itself when it fits a byte (Node reads header bytes as
 * Latin-1). A lone surrogate becomes U+FFFD.
 */
export function percentEncode(text: string, keep: CharSet, latin1 = false): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && keep[c]) continue;
    out += text.slice(from, i);
    if (c < 128 || (latin1 && c < 256)) out += hex(c);
    else {
      const char = String.fromCodePoint(text.codePointAt(i)!);
      for (const b of Buffer.from(char, 'utf8')) out += hex(b);
      i += char.length - 1;
    }
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

function hex(byte: number): string {
  return `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
}

/** charSet marks the ASCII letters and digits, and `extra`, as characters percentEncode keeps. */
export function charSet(extra: string): CharSet {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) if (/[A-Za-z0-9]/.test(String.fromCharCode(c)) || extra.includes(String.fromCharCode(c))) t[c] = 1;
  return t;
}
