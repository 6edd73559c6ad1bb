import { hostOf } from './vhosts.js';

/**
 * REG_NAME marks the characters of a host name (RFC 3986 reg-name: unreserved, sub-delims,
 * and % for escapes). Anything else in a Host header (a slash, a space, '@', '<') would let a
 * client steer what plugins build from $host, such as redirect targets.
 */
const REG_NAME = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=") REG_NAME[c.charCodeAt(0)] = 1;
const IP_LITERAL = /^\[[0-9a-fA-F:.]+\]$/;

/**
 * HostNames reads Host headers into host names (lowercase, without port), remembering the
 * last: a listener sees the same few values again and again, and each read costs a scan.
 */
export class HostNames {
  private lastValue: string | undefined;
  private lastName = '';

  /** read returns the host name in a Host value, or undefined when the value is no host (a 400). */
  read(value: string): string | undefined {
    if (value === this.lastValue) return this.lastName;
    if (!validHost(value)) return undefined;
    this.lastName = hostOf(value);
    this.lastValue = value;
    return this.lastName;
  }
}

/**
 * validHost tells whether a Host header value is a host name, IPv4 address or bracketed IPv6
 * address with an optional port (RFC 9112 3.2 asks for 400 otherwise). Like Nginx, it also
 * refuses a name with an empty label ('..').
 */
export function validHost(value: string): boolean {
  let end = value.length;
  const colon = value.lastIndexOf(':');
  if (colon >= 0 && colon > value.lastIndexOf(']')) {
    for (let i = colon + 1; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 48 || c > 57) return false;
    }
    end = colon;
  }
  if (value.charCodeAt(0) === 91 /* [ */) return IP_LITERAL.test(value.slice(0, end));
  for (let i = 0; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c > 127 || REG_NAME[c] === 0) return false;
    if (c === 46 /* . */ && value.charCodeAt(i + 1) === 46) return false;
  }
  return true;
}

/** hostLines counts the Host header lines of a request (RFC 9112 3.2: more than one is a 400). */
export function hostLines(rawHeaders: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 4 && (name === 'Host' || name.toLowerCase() === 'host')) n++;
  }
  return n;
}
