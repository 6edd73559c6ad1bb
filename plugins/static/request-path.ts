import { HttpError, type Ctx } from '../../core/index.js';

const ENCODED_SEPARATOR = /%(2f|5c)/i;

/**
 * relativePath is the request's path inside the static root ('/a/b.css', '/dir/'), checked
 * again here whatever the kernel did before: no encoded slash or backslash in the raw path,
 * no backslash, NUL, `.` or `..` segment after decoding. It throws HttpError(400) otherwise.
 */
export function relativePath(ctx: Ctx): string {
  const raw = ctx.rawPath;
  if (raw.includes('%') && ENCODED_SEPARATOR.test(raw)) throw new HttpError(400, 'encoded slash or backslash in path', { expose: true });
  const rel = ctx.pathInMount;
  if (rel.charCodeAt(0) !== 47 /* / */) throw new HttpError(400, 'bad path', { expose: true });
  // One pass: a backslash or NUL anywhere is refused; a '/.' or '//' calls for the segment checks.
  let odd = false;
  for (let i = 0; i < rel.length; i++) {
    const c = rel.charCodeAt(i);
    if (c === 92 /* \\ */ || c === 0) throw new HttpError(400, 'bad path', { expose: true });
    if (c === 47 /* / */) {
      const next = rel.charCodeAt(i + 1);
      if (next === 46 /* . */ || next === 47) odd = true;
    }
  }
  if (odd) {
    for (const seg of rel.split('/').slice(1, -1)) {
      if (seg === '' || seg === '.' || seg === '..') throw new HttpError(400, 'bad path', { expose: true });
    }
    const last = rel.slice(rel.lastIndexOf('/') + 1);
    if (last === '.' || last === '..') throw new HttpError(400, 'bad path', { expose: true });
  }
  return rel;
}

/** HiddenNames decides which file names are never served nor listed (matched per path segment). */
export class HiddenNames {
  private readonly patterns: readonly RegExp[];
  private readonly allowWellKnown: boolean;
  /** dotOnly: every pattern starts with a literal dot, so only a '/.' in a path can hide it. */
  private readonly dotOnly: boolean;

  /** patterns undefined is the default (dotfiles except .well-known); ['off'] hides nothing. */
  constructor(patterns: readonly string[] | undefined) {
    const list = patterns === undefined ? ['.*'] : patterns.includes('off') ? [] : patterns;
    this.allowWellKnown = patterns === undefined;
    this.patterns = list.map(globToRegExp);
    this.dotOnly = list.every((p) => p.startsWith('.'));
  }

  /** hides tells whether one file name is hidden. */
  hides(name: string): boolean {
    if (name === '' || this.patterns.length === 0) return false;
    if (this.allowWellKnown && name === '.well-known') return false;
    return this.patterns.some((p) => p.test(name));
  }

  /** hidesPath tells whether any segment of a relative path ('/a/.git/x') is hidden. */
  hidesPath(rel: string): boolean {
    if (this.patterns.length === 0 || (this.dotOnly && !rel.includes('/.'))) return false;
    for (const seg of rel.split('/')) if (this.hides(seg)) return true;
    return false;
  }
}

/** globToRegExp turns a name pattern with `*` and `?` into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** isInside tells whether a resolved path is `root` itself or lies under it. */
export function isInside(real: string, root: string): boolean {
  if (real === root || root === '/') return true;
  return real.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/** RootRules say which resolved paths under a root may be served or listed. */
export interface RootRules {
  readonly hidden: HiddenNames;
  /** realRoot is the root with its symlinks resolved, as it is now (a deploy may re-point it). */
  readonly realRoot: string;
  readonly follow: boolean;
}

/**
 * servable tells whether a resolved path may be served: inside the real root, unless symlinks
 * are followed, and not hidden there either (a link to `.env` is as hidden as `.env`).
 */
export function servable(real: string, rules: RootRules): boolean {
  if (!isInside(real, rules.realRoot)) return rules.follow;
  return !rules.hidden.hidesPath(rules.realRoot === '/' ? real : real.slice(rules.realRoot.length));
}
