import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

/** hasGlob tells whether a path holds `*`, `?` or `[...]` wildcards. */
export function hasGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

function segmentRegex(seg: string): RegExp {
  const body = seg
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/**
 * expandGlob lists the files a glob names, relative to `base`, sorted; wildcards work in any
 * segment but never match a leading dot (as in a shell).
 */
export function expandGlob(pattern: string, base: string): string[] {
  const abs = isAbsolute(pattern) ? pattern : resolve(base, pattern);
  const segs = abs.split(sep).filter(Boolean);
  let paths: string[] = [sep];
  for (const [i, seg] of segs.entries()) {
    const last = i === segs.length - 1;
    const next: string[] = [];
    for (const dir of paths) {
      if (!hasGlob(seg)) {
        next.push(join(dir, seg));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      const re = segmentRegex(seg);
      for (const n of names.sort()) if (!n.startsWith('.') && re.test(n)) next.push(join(dir, n));
    }
    paths = last
      ? next
      : next.filter((p) => {
          try {
            return statSync(p).isDirectory();
          } catch {
            return false;
          }
        });
  }
  return paths.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}
