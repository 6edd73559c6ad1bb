import { arg, directive, type ConfigOf } from '../../core/index.js';

/** staticFiles is `static ROOT { ... }`: serve files from a folder (nginx's alias, Caddy's file_server). */
export const staticFiles = directive({
  name: 'static',
  kind: 'handler',
  doc: "Serve files from ROOT: the path after the route's mount point names the file (like nginx alias)",
  schema: {
    args: [arg.path('root')],
    options: [
      {
        name: 'index',
        default: 'index.html',
        doc: 'Files tried, in order, for a directory; as in Nginx, the first that exists is an internal redirect: its path is routed again when another route serves it (index.php beside a route for \\.php$ runs there)',
        args: [arg.string('files', { variadic: true })],
      },
      { name: 'browse', doc: 'List a directory that has no index file', default: 'off', args: [arg.bool('enabled')] },
      { name: 'cache_control', doc: 'Cache-Control header sent with every file, e.g. "public, max-age=3600"', args: [arg.string('value')] },
      {
        name: 'precompressed',
        doc: 'Serve FILE.br / FILE.gz / FILE.zst beside FILE when the client accepts it, in this order of preference',
        args: [arg.enum('encodings', { values: ['br', 'gzip', 'zstd'], variadic: true })],
      },
      {
        name: 'fallback',
        doc: 'File inside ROOT served (200) when the requested one does not exist, for single-page apps: fallback /index.html; routed again, as an index file, when another route serves its path',
        args: [arg.string('file')],
      },
      {
        name: 'hidden',
        doc: 'Name patterns (* and ?), each matching one file or folder name, never served nor listed; default: dotfiles except .well-known; a list replaces the default; hidden off shows all',
        args: [arg.string('patterns', { variadic: true })],
      },
      { name: 'follow_symlinks', doc: 'Serve symlinks that point outside ROOT (off: they answer 404)', default: 'off', args: [arg.bool('enabled')] },
    ],
  },
});

/** StaticConfig is a checked `static`. */
export type StaticConfig = ConfigOf<typeof staticFiles>;
