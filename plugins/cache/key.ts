import type { IncomingHttpHeaders } from 'node:http';

/** MAX_KEY is the longest key the cache uses; a longer one (a template gone wrong) is not cached. */
export const MAX_KEY = 4096;

/** varyNames reads a Vary header into lowercased field names. */
export function varyNames(vary: string | string[] | undefined): string[] {
  if (vary === undefined) return [];
  const text = Array.isArray(vary) ? vary.join(',') : vary;
  return [
    ...new Set(
      text
        .split(',')
        .map((n) => n.trim().toLowerCase())
        .filter(Boolean),
    ),
  ].sort();
}

/**
 * variantKey is the key of one variant of a response that varies on `names`: the primary key,
 * then the request's values of those fields. It starts with the primary key and a newline, so
 * a purge of the key (a prefix) takes its variants too.
 */
export function variantKey(key: string, names: readonly string[], headers: IncomingHttpHeaders): string {
  const parts = names.map((n) => {
    const v = headers[n];
    return `${n}=${(Array.isArray(v) ? v.join(',') : (v ?? '')).replace(/\s+/g, ' ').trim()}`;
  });
  return `${key}\n${parts.join('\n')}`;
}
