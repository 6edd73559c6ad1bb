import { realpathSync, statSync, type Stats } from 'node:fs';
import { extname } from 'node:path';
import { HttpError } from '../../core/index.js';

const ENCODED_SEPARATOR = /%(2f|5c)/i;

/** Script is a request's script found inside the CGI folder, and how to run it. */
export interface Script {
  /** file is the script's absolute path (SCRIPT_FILENAME). */
  readonly file: string;
  /** name is the script's path inside the folder, '/' first ('/sub/env.sh'). */
  readonly name: string;
  /** pathInfo is the rest of the request path after the script ('' when none). */
  readonly pathInfo: string;
  /** command and args run the script: the script itself, or its interpreter with the script last. */
  readonly command: string;
  readonly args: readonly string[];
  /** nph is true for scripts named nph-*: their output goes to the client unparsed. */
  readonly nph: boolean;
}

/** Interpreters maps an extension ('.py') to the command (resolved on PATH) and arguments that run it. */
export type Interpreters = ReadonlyMap<string, readonly string[]>;

/**
 * locateScript finds the script a path inside the mount names: it walks the segments of
 * `rel` under `root` until a regular file, and the segments left become PATH_INFO. Nothing
 * outside the root (after symlinks), no dotfile, no encoded slash: those are 400/404. A
 * missing script is 404; a folder, or a file that is neither executable nor mapped to an
 * interpreter, is 403.
 *
 * It stats synchronously on purpose: a few metadata calls on cached inodes take
 * microseconds, while each trip through libuv's thread pool adds a wake-up to every
 * request, and the spawn that follows blocks the event loop far longer anyway (bench/cgi.ts).
 */
export function locateScript(root: string, realRoot: string, rel: string, rawPath: string, interpreters: Interpreters): Script {
  if (ENCODED_SEPARATOR.test(rawPath)) throw new HttpError(400, 'encoded slash or backslash in path', { expose: true });
  if (rel.includes('\\') || rel.includes('\0')) throw new HttpError(400, 'bad path', { expose: true });
  const segs = rel.split('/');
  let file = root;
  for (let i = 1; i < segs.length; i++) {
    const seg = segs[i];
    if (seg === '') break; // a trailing slash: a folder was asked for
    if (seg.charCodeAt(0) === 46 /* . */) throw new HttpError(404);
    file += `/${seg}`;
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) throw new HttpError(404);
    if (st.isDirectory()) continue;
    if (!st.isFile()) throw new HttpError(403, 'not a script');
    const real = realpathSync(file);
    if (real !== realRoot && !real.startsWith(`${realRoot}/`)) throw new HttpError(404);
    const rest = segs.slice(i + 1);
    return runnable(file, segs.slice(0, i + 1).join('/'), rest.length ? `/${rest.join('/')}` : '', st, interpreters);
  }
  throw new HttpError(403, 'a folder is not a script');
}

function runnable(file: string, name: string, pathInfo: string, st: Stats, interpreters: Interpreters): Script {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const nph = base.startsWith('nph-');
  const via = interpreters.get(extname(base));
  if (via) return { file, name, pathInfo, command: via[0], args: [...via.slice(1), file], nph };
  if ((st.mode & 0o111) === 0) throw new HttpError(403, 'script is not executable');
  return { file, name, pathInfo, command: file, args: [], nph };
}
