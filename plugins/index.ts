// plugins/: one folder per plugin (schema.ts as pure data, the runtime beside it, tests and
// testdata/ with them). Plugins import only core/index.ts and lib/. This file is the one list
// of built-ins.
import type { DependencyContainer } from 'tsyringe';
import { registerPlugin } from '../core/container.js';
import type { PluginClass } from '../core/index.js';
import { AdminPlugin } from './admin/index.js';
import { AppPlugin } from './app/index.js';
import { AsgiPlugin } from './asgi/index.js';
import { AuthPlugin } from './auth/index.js';
import { CachePlugin } from './cache/index.js';
import { CgiPlugin } from './cgi/index.js';
import { CompressPlugin } from './compress/index.js';
import { FastcgiPlugin } from './fastcgi/index.js';
import { HeadersPlugin } from './headers/index.js';
import { LimitPlugin } from './limit/index.js';
import { LogPlugin } from './log/index.js';
import { ProxyPlugin } from './proxy/index.js';
import { RedirectPlugin } from './redirect/index.js';
import { RespondPlugin } from './respond/index.js';
import { StaticPlugin } from './static/index.js';
import { TlsPlugin } from './tls/index.js';
import { WsgiPlugin } from './wsgi/index.js';

/** builtins is the one list of built-in plugins. */
export const builtins: readonly PluginClass[] = [
  RespondPlugin,
  StaticPlugin,
  RedirectPlugin,
  TlsPlugin,
  ProxyPlugin,
  WsgiPlugin,
  AsgiPlugin,
  CgiPlugin,
  FastcgiPlugin,
  AppPlugin,
  LogPlugin,
  CompressPlugin,
  AuthPlugin,
  HeadersPlugin,
  LimitPlugin,
  CachePlugin,
  AdminPlugin,
];

/** registerBuiltins registers every built-in plugin in a root container, as third-party ones are. */
export function registerBuiltins(c: DependencyContainer): void {
  for (const P of builtins) registerPlugin(c, P);
}
