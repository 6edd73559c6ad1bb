import { arg, directive, type ConfigOf } from '../../core/index.js';
import { bodyBufferingOptions, pythonPoolOptions } from '../../lib/index.js';

/** asgi is `asgi MODULE:CALLABLE { ... }`: an ASGI 3.0 application served by a pool of preforked asyncio Python processes. */
export const asgi = directive({
  name: 'asgi',
  kind: 'handler',
  doc: 'Serve a Python ASGI 3.0 application (HTTP, WebSocket, lifespan) from preforked asyncio Python processes: asgi MODULE:CALLABLE { workers; python; chdir; env; pythonpath; max_requests; timeout; request_buffering; body_buffer_size; body_timeout }',
  schema: {
    args: [arg.string('app')],
    options: [
      ...pythonPoolOptions({
        workers: 'Python processes in the pool, each importing the application once and serving many requests at once on its event loop',
        max_requests: 'Replace a Python process after it served this many requests and WebSockets (0: never)',
        timeout:
          "Longest wait for the application to start its response (or accept a WebSocket), not counting time spent waiting for the client's body; past it the client gets 504 and the app http.disconnect; a worker whose event loop stays blocked that long is replaced. A request waits at most 5s for a ready Python process (the pool starting or restarting), then gets 503",
      }),
      ...bodyBufferingOptions(
        'Read the whole request body before the application gets the request, so that a slow upload holds nothing in a Python process (as Nginx in front of Uvicorn; ' +
          'the scope then has a content-length header for chunked uploads too); off streams the body to the application as it arrives',
        'on',
      ),
    ],
  },
});

/** AsgiConfig is a checked `asgi`. */
export type AsgiConfig = ConfigOf<typeof asgi>;
