import type { IncomingMessage } from 'node:http';

/** CONDITIONAL_FIELDS are what makes a request ask for less than the whole current response. */
export const CONDITIONAL_FIELDS = ['if-none-match', 'if-modified-since', 'range', 'if-range'] as const;

/**
 * setRequestField replaces (or, with undefined, removes) a request field in both views
 * handlers read: headers by name, and rawHeaders as sent, which proxies forward.
 */
export function setRequestField(req: IncomingMessage, name: string, value: string | undefined): void {
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i].toLowerCase() === name) raw.splice(i, 2);
  if (value === undefined) {
    delete req.headers[name];
    return;
  }
  req.headers[name] = value;
  raw.push(name, value);
}
