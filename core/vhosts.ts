/** VirtualHosts picks the server for a Host: exact name, then the longest `*.` wildcard, then the default. */
export class VirtualHosts<T> {
  private readonly exact = new Map<string, T>();
  private readonly wild: { suffix: string; server: T }[] = [];
  private fallback: T | undefined;
  private first: T | undefined;

  /** add registers a server under its names; a server with no names is the default. */
  add(names: readonly string[], server: T): void {
    this.first ??= server;
    if (names.length === 0) this.fallback ??= server;
    for (const n of names) {
      const name = n.replace(/\.$/, '');
      if (name.startsWith('*.')) this.wild.push({ suffix: name.slice(1), server });
      else if (!this.exact.has(name)) this.exact.set(name, server);
    }
    this.wild.sort((a, b) => b.suffix.length - a.suffix.length);
  }

  /** pick returns the server for a host name (lowercase, no port). */
  pick(host: string): T {
    if (this.exact.size !== 0) {
      // most listeners serve one nameless server: skip hashing the host
      const hit = this.exact.get(host);
      if (hit !== undefined) return hit;
    }
    for (const w of this.wild) if (host.endsWith(w.suffix) && host.length > w.suffix.length) return w.server;
    return (this.fallback ?? this.first)!;
  }

  /** servers lists every server added, in order. */
  get defaultServer(): T {
    return (this.fallback ?? this.first)!;
  }
}

/** hostOf extracts the host name from a Host header: lowercase, without port or trailing dot. */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  let end = header.length;
  let upper = false;
  if (header.charCodeAt(0) === 91 /* [ */) {
    const close = header.indexOf(']');
    if (close > 0) end = close + 1;
  } else {
    // one pass: where the port starts, and whether there is anything to lowercase
    for (let i = 0; i < header.length; i++) {
      const c = header.charCodeAt(i);
      if (c === 58 /* : */) {
        end = i;
        break;
      }
      if ((c >= 65 && c <= 90) || c > 127) upper = true;
    }
  }
  if (header.charCodeAt(end - 1) === 46 /* . */) end--;
  const h = end === header.length ? header : header.slice(0, end);
  return upper || h.charCodeAt(0) === 91 ? h.toLowerCase() : h;
}
