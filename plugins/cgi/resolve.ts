import { realpathSync, statSync, type Stats } from 'node:fs';
import { basename, extname } from 'node:path';
import { HttpError } from '../../core/index.js';

const ENCODED_SEPARATOR = /%(2f|5c)/i;

/** Script is a request's script found inside the CGI folder, and how to run it. */
export interface Script {
  /** file is the script's absolute path (SCRIPT_FILENAME). */
  readonly file: string;
  /** name names the script in messages: its path inside the folder, '/' first ('/sub/env.sh'), or a mounted program's path. */
  readonly name: string;
  /** scriptPath is what SCRIPT_NAME holds after the mount point: the path inside the folder, or '' for a mounted program. */
  readonly scriptPath: string;
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
 * OutsideLink is a script that is a symlink (or under one) leading out of the CGI folder,
 * refused because follow_symlinks is off: a 403 that the handler logs, naming the option.
 */
export class OutsideLink extends HttpError {
  constructor(
    readonly script: string,
    readonly target: string,
  ) {
    super(403, 'the script is a symlink out of the cgi folder');
  }
}

/**
 * locateScript finds the script a path inside the mount names: it walks the segments of
 * `rel` under `root` until a regular file, and the segments left become PATH_INFO. No
 * dotfile, no encoded slash: those are 400/404; a script whose real path is outside the
 * root is OutsideLink (403) unless `follow`. A missing script is 404; a folder, or a file
 * that is neither executable nor mapped to an interpreter, is 403.
 *
 * It stats synchronously on purpose: a few metadata calls on cached inodes take
 * microseconds, while each trip through libuv's thread pool adds a wake-up to every
 * request, and the spawn that follows blocks the event loop far longer anyway (bench/cgi.ts).
 */
export function locateScript(root: string, realRoot: string, rel: string, rawPath: string, interpreters: Interpreters, follow = false): Script {
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
    const name = segs.slice(0, i + 1).join('/');
    const real = realpathSync(file);
    if (!follow && real !== realRoot && !real.startsWith(`${realRoot}/`)) throw new OutsideLink(name, real);
    const rest = segs.slice(i + 1);
    return runnable(file, name, name, rest.length ? `/${rest.join('/')}` : '', st, interpreters);
  }
  throw new HttpError(403, 'a folder is not a script');
}

/**
 * mountedProgram is the one program a route mounts (`cgi /usr/lib/git-core/git-http-backend`):
 * every path under the mount point runs it, and all of `rel` is PATH_INFO. An encoded slash
 * is 400, as for a folder; a program gone since the config was checked is a 502.
 */
export function mountedProgram(program: string, rel: string, rawPath: string, interpreters: Interpreters): Script {
  if (ENCODED_SEPARATOR.test(rawPath)) throw new HttpError(400, 'encoded slash or backslash in path');
  const st = statSync(program, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new HttpError(502, `CGI program ${program} is not there`);
  return runnable(program, program, '', rel, st, interpreters);
}

function runnable(file: string, name: string, scriptPath: string, pathInfo: string, st: Stats, interpreters: Interpreters): Script {
  const base = basename(file);
  const nph = base.startsWith('nph-');
  const via = interpreters.get(extname(base));
  if (via) return { file, name, scriptPath, pathInfo, command: via[0], args: [...via.slice(1), file], nph };
  if ((st.mode & 0o111) === 0) throw new HttpError(403, 'script is not executable');
  return { file, name, scriptPath, pathInfo, command: file, args: [], nph };
}
