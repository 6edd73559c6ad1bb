// lib/: code several built-in plugins share that is not plugin API (third-party plugins do
// not need it, and it may change with the plugins that use it): the Python application pool
// and the plugin skeleton wsgi and asgi run on, CGI environment and response parsing and the
// local-redirect helper (cgi, fastcgi), request body buffering (proxy and the gateways),
// per-turn stat caching. lib imports only the public API (core/index.ts); plugins may import lib.

export { TurnStats } from './turn-stats.js';
export { cgiMetaVariables, type CgiScript, type CgiSite } from './cgi-env.js';
export { BadCgiHead, CGI_MAX_HEAD, CgiHeadParser, type CgiHead } from './cgi-response.js';
export { localRedirect } from './local-redirect.js';
export { bodyBuffering, bodyBufferingOptions, bufferBody, type BodyBuffering } from './request-body.js';
export {
  FrameReader,
  HTTP_FRAME,
  Link,
  LINK_FRAME,
  PoolLinks,
  PoolStream,
  poolRunDir,
  PythonAppPlugin,
  PythonAppUnit,
  PythonPool,
  pythonPoolOptions,
  pythonPoolSettings,
  sourceFile,
  textFrame,
  type PythonApp,
  type PythonPoolSettings,
} from './pool/index.js';
