import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { servable, type RootRules } from './request-path.js';

/** ListedEntry is one line of a directory listing. */
export interface ListedEntry {
  readonly name: string;
  readonly dir: boolean;
  readonly size: number;
  readonly mtime: Date;
}

/**
 * listDirectory reads a directory for a listing: hidden names, symlinks to hidden files, and
 * symlinks that leave the root (unless followed) are left out, as are entries that vanish
 * while being read.
 * Folders come first, then files, each by name.
 */
export async function listDirectory(dir: string, rules: RootRules): Promise<ListedEntry[]> {
  const dirents = await readdir(dir, { withFileTypes: true });
  const out = await Promise.all(dirents.map((d) => entryOf(dir, d, rules)));
  return out.filter((e): e is ListedEntry => e !== undefined).sort((a, b) => Number(b.dir) - Number(a.dir) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function entryOf(dir: string, d: Dirent, rules: RootRules): Promise<ListedEntry | undefined> {
  if (rules.hidden.hides(d.name)) return undefined;
  const path = join(dir, d.name);
  try {
    if (d.isSymbolicLink() && !servable(await realpath(path), rules)) return undefined;
    const st = await stat(path);
    if (!st.isFile() && !st.isDirectory()) return undefined;
    return { name: d.name, dir: st.isDirectory(), size: st.size, mtime: st.mtime };
  } catch {
    return undefined;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** escapeHtml makes text safe inside HTML content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** renderListing renders a listing as a small HTML page; `path` is the decoded request path. */
export function renderListing(path: string, entries: readonly ListedEntry[], atMount: boolean): string {
  const title = escapeHtml(`Index of ${path}`);
  const rows = entries.map((e) => {
    const href = encodeURIComponent(e.name) + (e.dir ? '/' : '');
    const name = escapeHtml(e.name) + (e.dir ? '/' : '');
    const size = e.dir ? '-' : String(e.size);
    return `<tr><td><a href="./${href}">${name}</a></td><td>${size}</td><td>${e.mtime.toISOString().replace('T', ' ').slice(0, 19)}</td></tr>`;
  });
  if (!atMount) rows.unshift('<tr><td><a href="../">../</a></td><td>-</td><td></td></tr>');
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif}td{padding:0 1em 0 0}td:nth-child(2){text-align:right}</style></head>
<body><h1>${title}</h1>
<table><thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>
`;
}
