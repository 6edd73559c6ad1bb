import { sentAsIs, type Ctx, type TemplateLike } from '../../core/index.js';

// The characters a URI holds as they are (RFC 3986 unreserved and reserved, and the '%' of
// escapes). Decoded text must also escape '%', '?' and '#': in a path they were %25, %3F, %23.
const URI_CHARS = "-._~:/?#[]@!$&'()*+,;=%";
const AS_SENT = charTable(URI_CHARS);
const AS_TEXT = charTable(URI_CHARS.replace(/[%?#]/g, ''));
/** SENDABLE is what a header value may hold without breaking the response: printable ASCII. */
const SENDABLE = charTable('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/**
 * renderLocation renders a redirect target for the Location header: each variable's value is
 * percent-encoded (so no request can make the header unsendable or smuggle a '\' or a tab
 * that browsers read as a slash), the rest of the target is made sendable, and a relative
 * result never starts with '//' or '/\', which browsers read as the start of another host.
 */
export function renderLocation(target: TemplateLike, ctx: Ctx): string {
  const rendered = target.render((name) => encodeVariable(name, ctx.variable(name)));
  const location = percentEncode(rendered, SENDABLE, false);
  // A target written as '//host/...' names another host on purpose; one rendered so does not.
  return target.source.startsWith('//') ? location : location.replace(/^[/\\]{2,}/, '/');
}

/** encodeAsSent escapes what a URI may not hold in a value the client sent still encoded ($uri). */
export function encodeAsSent(value: string): string {
  return percentEncode(value, AS_SENT, true);
}

function encodeVariable(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return sentAsIs(name) ? encodeAsSent(value) : percentEncode(value, AS_TEXT, false);
}

/**
 * percentEncode writes every character of `text` outside `keep` as %XX: its UTF-8 bytes,
 * or, with `latin1`, the character itself when it fits a byte (Node reads header bytes as
 * Latin-1). A lone surrogate becomes U+FFFD.
 */
function percentEncode(text: string, keep: Uint8Array, latin1: boolean): string {
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

/** charTable marks the ASCII letters and digits, and `extra`, as characters to keep. */
function charTable(extra: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) if (/[A-Za-z0-9]/.test(String.fromCharCode(c)) || extra.includes(String.fromCharCode(c))) t[c] = 1;
  return t;
}
