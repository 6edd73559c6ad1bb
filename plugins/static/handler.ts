import { statSync, type Stats } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { contentType } from 'mime-types';
import { diagnostic, HttpError, spanOf, warning, type Ctx, type Diagnostic, type HandlerUnit, type Span } from '../../core/index.js';
import { TurnStats } from '../../lib/index.js';
import { acceptedEncodings, encodingsOf, type Encoding } from './encoding.js';
import { FileCache, type FileEntry } from './file-cache.js';
import { listDirectory, renderListing } from './listing.js';
import { HiddenNames, relativePath, servable, type RootRules } from './request-path.js';
import type { StaticConfig } from './schema.js';
import { sendFile, type SendOptions } from './send.js';

const DEFAULT_TYPE = 'application/octet-stream';

/** Served is a file found by a stat of the current turn, with what its responses need. */
interface Served {
  readonly entry: FileEntry;
  readonly options: SendOptions;
}

/** Found is a file found for another path than the one asked (an index file, the fallback), with that path. */
interface Found {
  readonly file: string;
  readonly st: Stats;
  /** path is the decoded request path that names the file: what the request is routed to again. */
  readonly path: string;
}

/**
 * StaticUnit serves the files under one root: the path after the route's mount point is
 * looked up under ROOT, directories get their index file (or a listing with `browse on`),
 * and nothing outside ROOT is ever served. An index file or the fallback that another route
 * serves (index.php beside a PHP route) is routed to it, as Nginx's internal redirect.
 */
export class StaticUnit implements HandlerUnit {
  private readonly root: string;
  private readonly index: readonly string[];
  private readonly hidden: HiddenNames;
  private readonly encodings: readonly Encoding[];
  private readonly follow: boolean;
  private readonly cache = new FileCache();
  /** stats: one stat per path per event-loop turn, and the files found by them (keyed by relative path). */
  private readonly stats = new TurnStats<Served>();
  private readonly types = new Map<string, string>();

  constructor(
    private readonly cfg: StaticConfig,
    private readonly at: Span,
  ) {
    this.root = resolve(cfg.root).replace(/\/$/, '');
    this.index = cfg.index;
    this.hidden = new HiddenNames(cfg.hidden);
    this.encodings = encodingsOf(cfg.precompressed);
    this.follow = cfg.follow_symlinks;
  }

  validate(): Diagnostic[] {
    const out: Diagnostic[] = [];
    const st = statSync(this.cfg.root, { throwIfNoEntry: false });
    if (!st)
      out.push(
        diagnostic(
          'GK_STATIC_ROOT',
          `static root '${this.cfg.root}' does not exist`,
          spanOf(this.cfg, 'root') ?? this.at,
          'create the folder, or fix the path (relative paths start at the .gate file)',
        ),
      );
    else if (!st.isDirectory()) out.push(diagnostic('GK_STATIC_ROOT', `static root '${this.cfg.root}' is not a folder`, spanOf(this.cfg, 'root') ?? this.at));
    for (const name of this.index) {
      if (name.includes('/') || name === '.' || name === '..')
        out.push(diagnostic('GK_STATIC_INDEX', `index file '${name}' must be a plain file name`, spanOf(this.cfg, 'index') ?? this.at));
    }
    out.push(...this.hiddenDiagnostics());
    const fb = this.cfg.fallback;
    if (fb !== undefined && (!fb.startsWith('/') || fb.split('/').some((s) => s === '..' || s === '.') || fb.endsWith('/'))) {
      out.push(
        diagnostic(
          'GK_STATIC_FALLBACK',
          `fallback '${fb}' must be a file path inside the root, starting with '/'`,
          spanOf(this.cfg, 'fallback') ?? this.at,
          'for example: fallback /index.html',
        ),
      );
    }
    return out;
  }

  handle(ctx: Ctx): Promise<void> {
    try {
      const method = ctx.method;
      if (method !== 'GET' && method !== 'HEAD') return this.otherMethod(ctx);
      const rel = relativePath(ctx);
      if (this.hidden.hidesPath(rel)) throw new HttpError(404);
      // A file already found this turn, from this turn's stat: the same answer, without the lookups.
      const hot = this.stats.recall(rel);
      if (hot !== undefined) return sendFile(ctx, this.cache, hot.entry, hot.options);
      const path = this.root + rel;
      const st = this.stats.stat(path);
      if (st?.isFile()) return this.file(ctx, path, st, rel);
      if (st?.isDirectory()) return this.directory(ctx, path, rel);
      return this.missing(ctx);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * otherMethod answers a method other than GET and HEAD: 405, unless the path's index file or
   * the fallback belongs to another route, which then gets the request, method and all (a
   * form that posts to / reaches index.php).
   */
  private otherMethod(ctx: Ctx): Promise<void> {
    const rel = relativePath(ctx);
    if (!this.hidden.hidesPath(rel)) {
      const st = this.stats.stat(this.root + rel);
      const found = !st ? this.fallbackFile(ctx) : st.isDirectory() && ctx.path.endsWith('/') ? this.indexFile(ctx, this.root + rel) : undefined;
      if (found && !ctx.sameRoute(found.path)) return this.reroute(ctx, found.path);
    }
    throw new HttpError(405, undefined, { headers: { allow: 'GET, HEAD' } });
  }

  /** hiddenDiagnostics: patterns match one name, never a path; a list that shows dotfiles again says so. */
  private hiddenDiagnostics(): Diagnostic[] {
    const list = this.cfg.hidden;
    if (list === undefined || list.includes('off')) return [];
    const at = spanOf(this.cfg, 'hidden') ?? this.at;
    const out: Diagnostic[] = [];
    for (const p of list.filter((p) => p.includes('/'))) {
      const name = p.split('/').filter(Boolean).pop() ?? p;
      out.push(
        diagnostic(
          'GK_STATIC_HIDDEN',
          `hidden pattern '${p}' has a '/': patterns match one file or folder name, so it never matches`,
          at,
          `write '${name}' to hide every file or folder of that name`,
        ),
      );
    }
    if (!this.hidden.hides('.git') || !this.hidden.hides('.env')) {
      out.push(
        warning(
          'GK_STATIC_HIDDEN',
          'this hidden list replaces the default, so dotfiles such as .git and .env are served',
          at,
          "add '.*' to the list to keep them hidden",
        ),
      );
    }
    return out;
  }

  async close(): Promise<void> {
    this.stats.clear();
    this.cache.clear();
  }

  /**
   * file serves a regular file; a file already checked, with no variants to look for, is served
   * without waiting, and remembered for the rest of the turn under `rel` when that is what was asked.
   */
  private file(ctx: Ctx, path: string, st: Stats, rel?: string): Promise<void> {
    const known = this.encodings.length === 0 ? this.cache.get(path, st) : undefined;
    if (!known) return this.lookUp(ctx, path, st);
    const options = this.options(path);
    if (rel !== undefined) this.stats.remember(rel, { entry: known, options });
    return sendFile(ctx, this.cache, known, options);
  }

  /** lookUp checks a file (and its precompressed variants the client accepts) and serves the best. */
  private async lookUp(ctx: Ctx, path: string, st: Stats): Promise<void> {
    const e = await this.entry(path, st);
    if (!e) throw new HttpError(404);
    const base = this.options(path);
    for (const enc of acceptedEncodings(ctx.req.headers['accept-encoding'], this.encodings)) {
      const vst = this.stats.stat(path + enc.suffix);
      const v = vst?.isFile() ? await this.entry(path + enc.suffix, vst) : undefined;
      if (!v) continue;
      try {
        // A copy with the variant's own ETag, and without the headers memoised for the file served as itself.
        return await sendFile(ctx, this.cache, { ...v, etag: `${v.etag.slice(0, -1)}-${enc.token}"`, head: undefined }, { ...base, encoding: enc.token });
      } catch (e) {
        if (!(e instanceof HttpError && e.status === 403)) throw e; // unreadable (found before any byte went): the next, or the file itself
      }
    }
    return sendFile(ctx, this.cache, e, base);
  }

  private options(path: string): SendOptions {
    return { contentType: this.typeOf(path), vary: this.encodings.length > 0, cacheControl: this.cfg.cache_control };
  }

  /** directory redirects to the slash form, then serves an index file, a listing, or 403. */
  private async directory(ctx: Ctx, path: string, rel: string): Promise<void> {
    if (!ctx.path.endsWith('/')) {
      const location = encodePath(ctx.path) + (ctx.query ? `/?${ctx.query}` : '/');
      return ctx.send(301, '', { location });
    }
    const index = this.indexFile(ctx, path);
    if (index) return this.serveOrRoute(ctx, index, rel);
    if (!this.cfg.browse) throw new HttpError(403);
    const rules = await this.rules();
    if (!servable(await realpath(path), rules)) throw new HttpError(404);
    const entries = await listDirectory(path, rules);
    return ctx.send(200, renderListing(ctx.path, entries, rel === '/'), { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
  }

  /** missing serves the fallback file when there is one (single-page apps), else 404. */
  private async missing(ctx: Ctx): Promise<void> {
    const fb = this.fallbackFile(ctx);
    if (!fb) throw new HttpError(404);
    return this.serveOrRoute(ctx, fb);
  }

  /** indexFile is the first index file in the folder `dir` (the one `ctx` asks for), if any. */
  private indexFile(ctx: Ctx, dir: string): Found | undefined {
    for (const name of this.index) {
      const file = dir + name;
      const st = this.stats.stat(file);
      if (st?.isFile()) return { file, st, path: ctx.path + name };
    }
    return undefined;
  }

  /** fallbackFile is the fallback file, when one is set and exists; its path is under the mount point. */
  private fallbackFile(ctx: Ctx): Found | undefined {
    const fb = this.cfg.fallback;
    if (fb === undefined) return undefined;
    const file = this.root + fb;
    const st = this.stats.stat(file);
    return st?.isFile() ? { file, st, path: ctx.mount + fb } : undefined;
  }

  /**
   * serveOrRoute serves a file found for another path when this route serves that path too
   * (remembered for the turn under `rel`, the directory asked for); otherwise that route gets
   * the request: index.php goes to the PHP route, never out as source.
   */
  private serveOrRoute(ctx: Ctx, found: Found, rel?: string): Promise<void> {
    if (ctx.sameRoute(found.path)) return this.file(ctx, found.file, found.st, rel);
    return this.reroute(ctx, found.path);
  }

  /** reroute routes the request again to the decoded `path`, with its query. */
  private reroute(ctx: Ctx, path: string): Promise<void> {
    return ctx.redispatch(encodePath(path) + (ctx.query ? `?${ctx.query}` : ''));
  }

  private async entry(path: string, st: Stats): Promise<FileEntry | undefined> {
    return this.cache.get(path, st) ?? this.cache.load(path, st, await this.rules());
  }

  /**
   * rules resolves the root again for each file checked: a root that is a symlink re-pointed
   * by a deploy (`ln -sfn release-2 current`) serves the new release at once, as Nginx does.
   */
  private async rules(): Promise<RootRules> {
    const root = this.root || '/';
    return { hidden: this.hidden, follow: this.follow, realRoot: await realpath(root).catch(() => root) };
  }

  private typeOf(path: string): string {
    const ext = extname(path).toLowerCase();
    let t = this.types.get(ext);
    if (t === undefined) this.types.set(ext, (t = (ext && contentType(ext)) || DEFAULT_TYPE));
    return t;
  }
}

/** encodePath percent-encodes each segment of a decoded path, keeping its slashes. */
function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
