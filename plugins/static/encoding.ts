/** Encoding is a precompressed variant: its Content-Encoding token and its file suffix. */
export interface Encoding {
  readonly token: string;
  readonly suffix: string;
}

const SUFFIX: Record<string, string> = { br: '.br', gzip: '.gz', zstd: '.zst' };

/** encodingsOf maps the `precompressed` option's words to variants, in the configured order. */
export function encodingsOf(words: readonly string[] | undefined): readonly Encoding[] {
  return (words ?? []).map((token) => ({ token, suffix: SUFFIX[token] }));
}

/**
 * acceptedEncodings returns the variants an Accept-Encoding header allows, keeping the
 * configured order of preference: a token with q=0 is refused, `*` stands for unlisted ones.
 */
export function acceptedEncodings(header: string | undefined, offered: readonly Encoding[]): Encoding[] {
  if (!header || offered.length === 0) return [];
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(name.trim(), Number.isNaN(weight) ? 0 : weight);
  }
  const star = q.get('*') ?? 0;
  return offered.filter((e) => (q.get(e.token) ?? (e.token === 'gzip' ? q.get('x-gzip') : undefined) ?? star) > 0);
}
