import { arg, directive, type ConfigOf } from '../../core/index.js';
import { bodyBufferingOptions } from '../../lib/index.js';

/** cgi is `cgi PATH { ... }`: run scripts from a folder, or one program, one process per request (RFC 3875). */
export const cgi = directive({
  name: 'cgi',
  kind: 'handler',
  doc:
    'Run CGI scripts (RFC 3875), one process per request. PATH is a folder: the path after the mount point names the script, the rest is PATH_INFO; ' +
    'or one program (cgi /usr/lib/git-core/git-http-backend): every path under the mount point runs it, SCRIPT_NAME is the mount point and the rest PATH_INFO',
  schema: {
    args: [arg.path('path')],
    options: [
      {
        name: 'interpreter',
        doc: 'Run scripts ending in EXT with COMMAND (found on PATH) and its arguments, executable or not: interpreter .py python3',
        repeatable: true,
        args: [arg.string('extension'), arg.string('command', { variadic: true })],
      },
      {
        name: 'pass_env',
        doc: "Names of gatekit's own environment variables passed to scripts (none by default; PATH defaults to /usr/local/bin:/usr/bin:/bin)",
        repeatable: true,
        args: [arg.string('names', { variadic: true })],
      },
      { name: 'env', doc: 'A fixed environment variable for scripts: env NAME VALUE', repeatable: true, args: [arg.string('name'), arg.string('value')] },
      {
        name: 'timeout',
        doc: 'Longest a script may run; then its whole process group is killed and the client gets 504',
        default: '30s',
        args: [arg.duration('timeout')],
      },
      {
        name: 'max_processes',
        doc: 'Scripts running at once, per worker; more requests wait in line',
        default: '32',
        args: [arg.int('count', { min: 1, max: 65536 })],
      },
      {
        name: 'queue_timeout',
        doc: 'Longest a request waits in line for a free process slot before it gets 503',
        default: '2s',
        args: [arg.duration('timeout')],
      },
      {
        name: 'document_root',
        doc: "Folder PATH_INFO is mapped into for PATH_TRANSLATED, also sent as DOCUMENT_ROOT (default: the folder, or the mounted program's folder)",
        args: [arg.path('dir')],
      },
      {
        name: 'follow_symlinks',
        doc: 'Run scripts that are symlinks to programs outside the folder (off: such a script answers 403, and a warning naming this option is logged)',
        default: 'off',
        args: [arg.bool('enabled')],
      },
      {
        name: 'spawner',
        doc: 'How scripts start: helper (posix_spawn from a small python3 helper process: about half the cost of a fork of the worker, which grows with its memory), fork (child_process from the worker), auto (helper when python3 is on PATH)',
        default: 'auto',
        args: [arg.enum('spawner', { values: ['auto', 'helper', 'fork'] })],
      },
      {
        name: 'pass_auth',
        doc: 'Pass the Authorization header to scripts as HTTP_AUTHORIZATION (off: scripts see AUTH_TYPE and REMOTE_USER)',
        default: 'off',
        args: [arg.bool('enabled')],
      },
      ...bodyBufferingOptions(
        'Read the whole request body before the script starts, so that a slow upload holds no process slot and counts nothing toward `timeout` ' +
          '(as Nginx; CONTENT_LENGTH is then set for chunked uploads too); off streams the body to the script as it arrives',
        'on',
      ),
    ],
  },
});

/** CgiConfig is a checked `cgi`. */
export type CgiConfig = ConfigOf<typeof cgi>;
