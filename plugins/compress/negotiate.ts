/** Encoding is a content coding compress can produce. */
export type Encoding = 'gzip' | 'br' | 'deflate';

/** ENCODINGS lists the codings compress knows, in the default order of preference. */
export const ENCODINGS: readonly Encoding[] = ['gzip', 'br', 'deflate'];

/**
 * parseAcceptEncoding reads `gzip;q=0.8, br, *;q=0` into coding → q (lowercased).
 * A malformed q counts as 1, as browsers and servers read it.
 */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.split(';');
    const coding = name.trim().toLowerCase();
    if (!coding) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m && !Number.isNaN(Number(m[1]))) q = Math.min(1, Number(m[1]));
    }
    out.set(coding, Math.max(q, out.get(coding) ?? 0));
  }
  return out;
}

/**
 * negotiate picks the coding to send: the offered one the client rates highest (q > 0),
 * ties going to the server's order of preference; none when the client rates identity
 * higher, refuses all offered ones, or sent no Accept-Encoding.
 */
export function negotiate(header: string | undefined, offered: readonly Encoding[]): Encoding | undefined {
  if (!header) return undefined;
  const q = parseAcceptEncoding(header);
  const star = q.get('*');
  let best: Encoding | undefined;
  let bestQ = 0;
  for (const e of offered) {
    const v = q.get(e) ?? (e === 'gzip' ? q.get('x-gzip') : undefined) ?? star ?? 0;
    if (v > bestQ) {
      best = e;
      bestQ = v;
    }
  }
  const identity = q.get('identity');
  if (best && identity !== undefined && identity > bestQ) return undefined;
  return best;
}

const DEFAULT_TYPES = [
  'text/*',
  'application/json',
  'application/*+json',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/xml',
  'application/*+xml',
  'application/wasm',
  'application/x-ndjson',
  'application/manifest+json',
  'application/graphql-response+json',
  'application/vnd.api+json',
  'application/x-yaml',
  'application/yaml',
  'application/toml',
  'image/svg+xml',
  'image/x-icon',
  'image/vnd.microsoft.icon',
  'image/bmp',
  'font/ttf',
  'font/otf',
  'application/vnd.ms-fontobject',
  'application/x-font-ttf',
];

/** typeMatcher builds a test for a Content-Type against patterns like text/*, application/*+json or image/svg+xml. */
export function typeMatcher(patterns: readonly string[] = DEFAULT_TYPES): (contentType: string) => boolean {
  const exact = new Set<string>();
  const res: RegExp[] = [];
  for (const p of patterns.map((x) => x.toLowerCase())) {
    if (p.includes('*')) res.push(new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^;]*')}$`));
    else exact.add(p);
  }
  return (contentType) => {
    const semi = contentType.indexOf(';');
    const mime = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
    return exact.has(mime) || res.some((r) => r.test(mime));
  };
}
