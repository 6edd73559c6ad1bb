import type { Ctx } from '../../core/index.js';
import type { Script } from './resolve.js';

/** EnvBase is what every request's environment starts from: pass_env values, env settings, PATH. */
export type EnvBase = Readonly<Record<string, string>>;

/** DEFAULT_PATH is the PATH scripts get unless pass_env or env sets one. */
export const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** baseEnv builds the fixed part of scripts' environment from gatekit's own and the `env` settings. */
export function baseEnv(passEnv: readonly string[], fixed: readonly (readonly [string, string])[], own: NodeJS.ProcessEnv = process.env): EnvBase {
  const env: Record<string, string> = { PATH: DEFAULT_PATH };
  for (const name of passEnv) {
    const v = own[name];
    if (v !== undefined) env[name] = v;
  }
  for (const [k, v] of fixed) env[k] = v;
  return env;
}

/** Site is what the environment needs besides the request: software name, document root, header policy. */
export interface Site {
  readonly software: string;
  readonly documentRoot: string;
  readonly passAuth: boolean;
}

// Headers that never become HTTP_* variables: Proxy (httpoxy, CVE-2016-5385), those the
// script gets as CONTENT_*, hop-by-hop ones, and credentials unless pass_auth is on.
const SKIPPED = new Set(['proxy', 'content-length', 'content-type', 'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-connection']);
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^`|~-]+$/;

/**
 * metaVariables is a request's environment per RFC 3875 section 4.1, plus HTTP_* for its
 * headers and the usual extras (REQUEST_URI, SCRIPT_FILENAME, DOCUMENT_ROOT, REMOTE_PORT,
 * SERVER_ADDR, REQUEST_SCHEME, HTTPS). Headers whose names hold '_' are dropped, so that
 * `X_Forwarded_For` cannot pose as `X-Forwarded-For`.
 */
export function metaVariables(ctx: Ctx, script: Script, base: EnvBase, site: Site): Record<string, string> {
  const req = ctx.req;
  const env: Record<string, string> = { ...base };
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
  env.SCRIPT_NAME = ctx.mount + script.name;
  env.SERVER_NAME = ctx.host;
  env.SERVER_PORT = String(ctx.conn.port);
  env.SERVER_PROTOCOL = `HTTP/${req.httpVersion}`;
  env.SERVER_SOFTWARE = site.software;
  env.SERVER_ADDR = req.socket.localAddress ?? '';
  env.REQUEST_URI = ctx.uri;
  env.REQUEST_SCHEME = ctx.scheme;
  if (ctx.scheme === 'https') env.HTTPS = 'on';
  env.SCRIPT_FILENAME = script.file;
  env.DOCUMENT_ROOT = site.documentRoot;
  return env;
}
