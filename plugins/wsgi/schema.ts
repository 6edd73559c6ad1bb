import { arg, bodyBufferingOptions, directive, type ConfigOf } from '../../core/index.js';

/** wsgi is `wsgi MODULE:CALLABLE { ... }`: a PEP 3333 application served by a pool of preforked Python processes. */
export const wsgi = directive({
  name: 'wsgi', kind: 'handler',
  doc: 'Serve a Python WSGI application (PEP 3333) from preforked Python processes: wsgi MODULE:CALLABLE { workers; threads; python; chdir; env; pythonpath; max_requests; timeout; request_buffering; body_buffer_size; body_timeout }',
  schema: {
    args: [arg.string('app')],
    options: [
      { name: 'workers', doc: 'Python processes in the pool, each importing the application once', default: '1', args: [arg.int('count', { min: 1, max: 1024 })] },
      { name: 'threads', doc: 'Threads per Python process serving requests at once (1: a sync worker)', default: '1', args: [arg.int('count', { min: 1, max: 1024 })] },
      { name: 'python', doc: 'Python interpreter: a name found on PATH or a path such as ./.venv/bin/python', default: 'python3', args: [arg.string('command')] },
      { name: 'chdir', doc: 'Folder the Python processes run in, put first on sys.path (. is the .gate file\'s folder)', default: '.', args: [arg.path('dir')] },
      { name: 'env', doc: 'Environment variable for the Python processes (besides PATH, HOME, LANG, TZ...): env NAME VALUE', repeatable: true,
        args: [arg.string('name'), arg.string('value')] },
      { name: 'pythonpath', doc: 'Folder added to sys.path (PYTHONPATH), after chdir', repeatable: true, args: [arg.path('dir')] },
      { name: 'max_requests', doc: 'Replace a Python process after it served this many requests (0: never)', default: '0', args: [arg.int('count', { min: 0 })] },
      { name: 'timeout', doc: 'Longest a request may take once a Python process has it (not counting the client\'s upload); past it the process is killed and replaced, and the client gets 504. A request waits for a free Python process as long (5s at least), then gets 503', default: '30s',
        args: [arg.duration('timeout')] },
      ...bodyBufferingOptions('Read the whole request body before a Python process gets the request, so that a slow upload holds no worker (as Nginx in front of Gunicorn; '
        + 'CONTENT_LENGTH is then set for chunked uploads too); off streams the body to the application as it arrives', 'on'),
    ],
  },
});

/** WsgiConfig is a checked `wsgi`. */
export type WsgiConfig = ConfigOf<typeof wsgi>;
