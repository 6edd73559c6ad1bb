// lib/: code several built-in plugins share that is not plugin API (third-party plugins do
// not need it, and it may change with the plugins that use it): the Python application pool
// and the plugin skeleton wsgi and asgi run on, CGI environment and response parsing and the
// local-redirect helper (cgi, fastcgi), request body buffering (proxy and the gateways),
// per-turn stat caching. lib imports only the public API (core/index.ts); plugins may import lib.

export { statPath, TurnStats } from './turn-stats.js';
export { cgiMetaVariables, type CgiScript, type CgiSite } from './cgi-env.js';
export { bodyBuffering, bodyBufferingOptions, bufferBody, type BodyBuffering, type BodyBufferingConfig, type BufferedBody } from './request-body.js';
export {
  frame, FRAME_HEAD, FrameDecoder, FrameReader, FrameWriter, HTTP_FRAME, HttpExchange, Link, LINK_FRAME, MAX_CONTROL, POOL_PYTHON, POOL_QUEUE_WAIT, PoolLinks,
  PoolStream, PoolWatch, poolRunDir, poolsPart, PYTHON_APP_SPEC, PythonAppPlugin, PythonAppUnit, PythonPool, pythonPoolOptions, pythonPoolSettings, RECALL_AFTER,
  sourceFile, textFrame, TimedList, type ExchangeSpec, type PythonApp, type PythonAppConfig, type PythonPoolDocs, type FrameSink, type LinkFrameSink, type PoolStatus, type PoolWorker, type PythonPoolConfig, type PythonPoolSettings, type PythonPoolSpec, type Timed,
} from './pool/index.js';
export { BadCgiHead, CGI_MAX_HEAD, CgiHeadParser, parseCgiHead, type CgiHead } from './cgi-response.js';
export { localRedirect } from './local-redirect.js';
