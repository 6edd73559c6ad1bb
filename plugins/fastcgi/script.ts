import { HttpError } from '../../core/index.js';
import type { CgiScript, TurnStats } from '../../lib/index.js';

const ENCODED_SEPARATOR = /%(2f|5c)/i;

/** ScriptRules say how a path inside the mount names a script: the document root, the index file, the split extension. */
export interface ScriptRules {
  readonly root: string;
  readonly index: string;
  readonly extension: string;
}

/**
 * splitPath splits a path inside the mount at the first segment that ends in `extension`
 * (as nginx's `fastcgi_split_path_info ^(.+?\.php)(/.*)$`): '/a.php/b/c' is the script
 * '/a.php' with PATH_INFO '/b/c'. A path that ends in '/' names its index file. It returns
 * undefined when no segment ends in the extension.
 */
export function splitPath(rel: string, index: string, extension: string): { script: string; pathInfo: string } | undefined {
  const path = rel.endsWith('/') ? rel + index : rel;
  for (let i = path.indexOf(extension); i >= 0; i = path.indexOf(extension, i + 1)) {
    const end = i + extension.length;
    if (i === 0 || path[i - 1] === '/') continue; // '/.php' is a dotfile, not a script
    if (end === path.length) return { script: path, pathInfo: '' };
    if (path[end] === '/') return { script: path.slice(0, end), pathInfo: path.slice(end) };
  }
  return undefined;
}

/**
 * locateScript finds the script a request names under the document root: 404 unless it is
 * a regular file ending in the split extension (so that no upload named x.jpg ever runs
 * as PHP), with no dotfile segment; 400 for an encoded slash. It stats synchronously: a
 * cached metadata call costs microseconds, less than a trip through libuv's thread pool.
 */
export function locateScript(mount: string, rel: string, rawPath: string, rules: ScriptRules, stats: TurnStats): CgiScript {
  if (ENCODED_SEPARATOR.test(rawPath)) throw new HttpError(400, 'encoded slash or backslash in path', { expose: true });
  if (rel.includes('\\') || rel.includes('\0')) throw new HttpError(400, 'bad path', { expose: true });
  const split = splitPath(rel, rules.index, rules.extension);
  if (!split || /\/\./.test(split.script)) throw new HttpError(404);
  const file = rules.root + split.script;
  if (!isFile(stats, file)) throw new HttpError(404);
  return { scriptName: mount + split.script, scriptFilename: file, pathInfo: split.pathInfo };
}

/** isFile stats the script once per event-loop turn (requests read together share the look). */
function isFile(stats: TurnStats, file: string): boolean {
  try {
    return stats.stat(file)?.isFile() ?? false;
  } catch {
    return false; // ENOTDIR: a file used as a folder; EACCES
  }
}
