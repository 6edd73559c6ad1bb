/** CleanPath is a request path decoded and normalised for matching, or the reason it is refused. */
export type CleanPath = { ok: true; path: string } | { ok: false; reason: string };

/**
 * cleanPath decodes percent-escapes, refuses NUL bytes, invalid escapes and invalid UTF-8,
 * merges repeated slashes and resolves `.` and `..` segments (refusing any that climb
 * above the root), so that routing, auth and static files all see one canonical path.
 */
export function cleanPath(raw: string): CleanPath {
  if (raw.charCodeAt(0) !== 47 /* / */) return { ok: false, reason: 'path must start with /' };
  if (isPlain(raw)) return { ok: true, path: raw };
  let path = raw;
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      return { ok: false, reason: 'invalid percent-encoding' };
    }
  }
  if (path.includes('\0')) return { ok: false, reason: 'NUL byte in path' };
  if (!path.includes('//') && !path.includes('/.')) return { ok: true, path };
  const out: string[] = [];
  const segs = path.split('/');
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    if (s === '..') {
      if (out.length === 0) return { ok: false, reason: 'path climbs above the root' };
      out.pop();
    } else if (s !== '.' && (s !== '' || i === segs.length - 1)) out.push(s);
  }
  const last = segs[segs.length - 1];
  const trailing = (last === '.' || last === '..') && out.length > 0 ? '/' : '';
  return { ok: true, path: `/${out.join('/')}${trailing}` };
}

/** isPlain tells, in one pass, that a path has no escape, NUL, '//' or '/.': nothing to clean. */
function isPlain(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37 /* % */ || c === 0) return false;
    if (c === 47 /* / */) {
      const next = raw.charCodeAt(i + 1);
      if (next === 47 || next === 46 /* . */) return false;
    }
  }
  return true;
}
