import { arg, directive, type ConfigOf } from '../../core/index.js';
import { bodyBufferingOptions, pythonPoolOptions } from '../../lib/index.js';

/** wsgi is `wsgi MODULE:CALLABLE { ... }`: a PEP 3333 application served by a pool of preforked Python processes. */
export const wsgi = directive({
  name: 'wsgi',
  kind: 'handler',
  doc: 'Serve a Python WSGI application (PEP 3333) from preforked Python processes: wsgi MODULE:CALLABLE { workers; threads; python; chdir; env; pythonpath; max_requests; timeout; request_buffering; body_buffer_size; body_timeout }',
  schema: {
    args: [arg.string('app')],
    options: [
      {
        name: 'threads',
        doc: 'Threads per Python process serving requests at once (1: a sync worker)',
        default: '1',
        args: [arg.int('count', { min: 1, max: 1024 })],
      },
      ...pythonPoolOptions({
        workers: 'Python processes in the pool, each importing the application once',
        max_requests: 'Replace a Python process after it served this many requests (0: never)',
        timeout:
          "Longest a request may take once a Python process has it (not counting the client's upload); past it the process is killed and replaced, and the client gets 504. A request waits for a free Python process as long (5s at least), then gets 503",
      }),
      ...bodyBufferingOptions(
        'Read the whole request body before a Python process gets the request, so that a slow upload holds no worker (as Nginx in front of Gunicorn; ' +
          'CONTENT_LENGTH is then set for chunked uploads too); off streams the body to the application as it arrives',
        'on',
      ),
    ],
  },
});

/** WsgiConfig is a checked `wsgi`. */
export type WsgiConfig = ConfigOf<typeof wsgi>;
