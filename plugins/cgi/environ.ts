import type { Ctx } from '../../core/index.js';
import { cgiMetaVariables, type CgiSite } from '../../lib/index.js';
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
export type Site = CgiSite;

/**
 * metaVariables is a request's environment: the fixed part (`base`) overlaid with the
 * request's CGI meta-variables (see cgiMetaVariables in core), for the script found.
 */
export function metaVariables(ctx: Ctx, script: Script, base: EnvBase, site: Site): Record<string, string> {
  return cgiMetaVariables(ctx, { scriptName: ctx.mount + script.scriptPath, scriptFilename: script.file, pathInfo: script.pathInfo }, site, { ...base });
}
