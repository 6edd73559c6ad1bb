import { arg, bodyBufferingOptions, directive, type ConfigOf } from '../../core/index.js';

/** asgi is `asgi MODULE:CALLABLE { ... }`: an ASGI 3.0 application served by a pool of preforked asyncio Python processes. */
export const asgi = directive({
  name: 'asgi', kind: 'handler',
  doc: 'Serve a Python ASGI 3.0 application (HTTP, WebSocket, lifespan) from preforked asyncio Python processes: asgi MODULE:CALLABLE { workers; python; chdir; env; pythonpath; max_requests; timeout; request_buffering; body_buffer_size; body_timeout }',
  schema: {
    args: [arg.string('app')],
    options: [
      { name: 'workers', doc: 'Python processes in the pool, each importing the application once and serving many requests at once on its event loop', default: '1',
        args: [arg.int('count', { min: 1, max: 1024 })] },
      { name: 'python', doc: 'Python interpreter: a name found on PATH or a path such as ./.venv/bin/python', default: 'python3', args: [arg.string('command')] },
      { name: 'chdir', doc: 'Folder the Python processes run in, put first on sys.path (. is the .gate file\'s folder)', default: '.', args: [arg.path('dir')] },
      { name: 'env', doc: 'Environment variable for the Python processes (besides PATH, HOME, LANG, TZ...): env NAME VALUE', repeatable: true,
        args: [arg.string('name'), arg.string('value')] },
      { name: 'pythonpath', doc: 'Folder added to sys.path (PYTHONPATH), after chdir', repeatable: true, args: [arg.path('dir')] },
      { name: 'max_requests', doc: 'Replace a Python process after it served this many requests and WebSockets (0: never)', default: '0', args: [arg.int('count', { min: 0 })] },
      { name: 'timeout', doc: 'Longest wait for the application to start its response (or accept a WebSocket), not counting time spent waiting for the client\'s body; past it the client gets 504 and the app http.disconnect; a worker whose event loop stays blocked that long is replaced. A request waits at most 5s for a ready Python process (the pool starting or restarting), then gets 503', default: '30s',
        args: [arg.duration('timeout')] },
      ...bodyBufferingOptions('Read the whole request body before the application gets the request, so that a slow upload holds nothing in a Python process (as Nginx in front of Uvicorn; '
        + 'the scope then has a content-length header for chunked uploads too); off streams the body to the application as it arrives', 'on'),
    ],
  },
});

/** AsgiConfig is a checked `asgi`. */
export type AsgiConfig = ConfigOf<typeof asgi>;
