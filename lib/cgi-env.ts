import type { Ctx } from '../core/index.js';

/** CgiScript is where a request's script is: what the gateway found for the request path. */
export interface CgiScript {
  /** scriptName is SCRIPT_NAME: the script's URL path, the route's mount point included ('/cgi-bin/env.sh'). */
  readonly scriptName: string;
  /** scriptFilename is SCRIPT_FILENAME: the script's absolute path on disk. */
  readonly scriptFilename: string;
  /** pathInfo is PATH_INFO: the rest of the request path after the script ('' when none). */
  readonly pathInfo: string;
}

/** CgiSite is what the meta-variables need besides the request: software name, document root, header policy. */
export interface CgiSite {
  /** software is SERVER_SOFTWARE ('gatekit/1.2.0'). */
  readonly software: string;
  /** documentRoot is DOCUMENT_ROOT, and where PATH_INFO is mapped for PATH_TRANSLATED. */
  readonly documentRoot: string;
  /** passAuth passes the Authorization header as HTTP_AUTHORIZATION (else scripts see only AUTH_TYPE and REMOTE_USER). */
  readonly passAuth: boolean;
}

// Headers that never become HTTP_* variables: Proxy (httpoxy, CVE-2016-5385), those the
// script gets as CONTENT_*, hop-by-hop ones, and credentials unless passAuth is on.
const SKIPPED = new Set([
  'proxy',
  'content-length',
  'content-type',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-connection',
]);
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^`|~-]+$/;

/**
 * cgiMetaVariables adds a request's CGI meta-variables to `env` and returns it: those of
 * RFC 3875 section 4.1, HTTP_* for its headers, and the usual extras (REQUEST_URI,
 * SCRIPT_FILENAME, DOCUMENT_ROOT, REMOTE_PORT, SERVER_ADDR, REQUEST_SCHEME, HTTPS). They
 * override what `env` held. A Proxy header never becomes HTTP_PROXY (httpoxy), and headers
 * whose names hold '_' are dropped, so that `X_Forwarded_For` cannot pose as
 * `X-Forwarded-For`. CONTENT_LENGTH is set only for a body of declared length; a gateway
 * that buffers a chunked body sets it itself. CGI and FastCGI gateways share it.
 */
export function cgiMetaVariables(ctx: Ctx, script: CgiScript, site: CgiSite, env: Record<string, string> = {}): Record<string, string> {
  const req = ctx.req;
  const headers = req.headers;
  for (const key in headers) {
    if (SKIPPED.has(key) || key.includes('_') || !TOKEN.test(key)) continue;
    if (key === 'authorization' && !site.passAuth) continue;
    const v = headers[key];
    env[`HTTP_${key.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(v) ? v.join(', ') : (v ?? '');
  }
  const user = ctx.variable('user');
  if (user !== undefined) {
    env.REMOTE_USER = user;
    env.AUTH_TYPE = /^\S+/.exec(headers.authorization ?? '')?.[0] ?? '';
  }
  const length = headers['content-length'];
  if (length !== undefined && headers['transfer-encoding'] === undefined) env.CONTENT_LENGTH = length;
  if (headers['content-type'] !== undefined) env.CONTENT_TYPE = headers['content-type'];
  env.GATEWAY_INTERFACE = 'CGI/1.1';
  env.PATH_INFO = script.pathInfo;
  if (script.pathInfo) env.PATH_TRANSLATED = site.documentRoot + script.pathInfo;
  env.QUERY_STRING = ctx.query;
  env.REMOTE_ADDR = ctx.remote;
  env.REMOTE_HOST = ctx.remote; // no reverse DNS: RFC 3875 4.1.9 allows REMOTE_ADDR in its place
  env.REMOTE_PORT = String(req.socket.remotePort ?? '');
  env.REQUEST_METHOD = ctx.method;
  env.SCRIPT_NAME = script.scriptName;
  env.SERVER_NAME = ctx.host;
  env.SERVER_PORT = String(ctx.conn.port);
  env.SERVER_PROTOCOL = `HTTP/${req.httpVersion}`;
  env.SERVER_SOFTWARE = site.software;
  env.SERVER_ADDR = req.socket.localAddress ?? '';
  env.REQUEST_URI = ctx.uri;
  env.REQUEST_SCHEME = ctx.scheme;
  if (ctx.scheme === 'https') env.HTTPS = 'on';
  env.SCRIPT_FILENAME = script.scriptFilename;
  env.DOCUMENT_ROOT = site.documentRoot;
  return env;
}
