import { arg, directive, type ConfigOf } from '../../core/index.js';
import { bodyBufferingOptions } from '../../lib/index.js';

/** fastcgi is `fastcgi ADDRESS { ... }`: a FastCGI 1.0 client for a responder such as PHP-FPM (nginx's fastcgi_pass). */
export const fastcgi = directive({
  name: 'fastcgi',
  kind: 'handler',
  doc: 'Pass requests to a FastCGI responder (PHP-FPM) at unix:/path.sock or host:port: fastcgi unix:/run/php/php-fpm.sock { root ./www }',
  schema: {
    args: [arg.address('address')],
    block: 'required',
    options: [
      {
        name: 'root',
        required: true,
        doc: 'Document root: the path after the mount point names a file in it (SCRIPT_FILENAME); also DOCUMENT_ROOT',
        args: [arg.path('dir')],
      },
      { name: 'index', doc: 'Script run for a path that ends in /', default: 'index.php', args: [arg.string('file')] },
      {
        name: 'split_path',
        doc: 'Split the path after the first segment ending in EXT into SCRIPT_NAME and PATH_INFO: /a.php/b has PATH_INFO /b',
        default: '.php',
        args: [arg.string('extension')],
      },
      {
        name: 'param',
        doc: 'Send one more parameter (or replace one): param APP_ENV prod (request variables allowed)',
        repeatable: true,
        args: [arg.string('name'), arg.template('value')],
      },
      { name: 'pass_auth', doc: 'Pass the Authorization header as HTTP_AUTHORIZATION (as PHP apps expect)', default: 'on', args: [arg.bool('enabled')] },
      {
        name: 'keepalive',
        doc:
          'Connections per worker, kept for reuse with FCGI_KEEP_CONN; more requests wait in gatekit for one (0 opens one per request, unlimited). ' +
          'Each one holds a PHP-FPM child: keep workers x keepalive below pm.max_children',
        default: '4',
        args: [arg.int('connections', { min: 0, max: 1024 })],
      },
      {
        name: 'keepalive_timeout',
        doc: 'How long an idle connection is kept; never past 1 s after its first answer, as each one holds a PHP-FPM child that others may be waiting for',
        default: '1s',
        args: [arg.duration('timeout')],
      },
      { name: 'connect_timeout', doc: 'Time to connect to the responder; then 504', default: '5s', args: [arg.duration('timeout')] },
      {
        name: 'read_timeout',
        doc: 'Longest wait for the responder between two reads: response start and body; then 504',
        default: '60s',
        args: [arg.duration('timeout')],
      },
      { name: 'send_timeout', doc: 'Longest wait for the responder to accept more of the request; then 504', default: '60s', args: [arg.duration('timeout')] },
      ...bodyBufferingOptions(
        'Read the whole request body before the request goes to the responder, so that a slow upload holds no PHP-FPM child or connection ' +
          "(as Nginx's fastcgi_request_buffering); off streams a body of declared length as it arrives (a chunked one is read whole all the same: PHP needs its CONTENT_LENGTH)",
        'on',
      ),
    ],
  },
});

/** FastcgiConfig is a checked `fastcgi`. */
export type FastcgiConfig = ConfigOf<typeof fastcgi>;
