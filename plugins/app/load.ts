import { statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';

/** Listener is a Node request listener: (req, res), as http.createServer takes (an Express app is one). */
export type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;
/** FetchHandler answers a WHATWG Request with a Response. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;
/** UpgradeHandler takes over an Upgrade request's connection, as http.Server's 'upgrade' event does. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown;

/** LoadedApp is what a module gave: how to serve requests, and optionally upgrades and a close hook. */
export type LoadedApp = ({ readonly style: 'listener'; readonly listener: Listener } | { readonly style: 'fetch'; readonly fetch: FetchHandler }) & {
  readonly upgrade?: UpgradeHandler;
  readonly close?: () => unknown;
};

/** Style is how the configured export is called. */
export type Style = 'auto' | 'listener' | 'fetch';

const EXTENSIONS = ['', '.js', '.mjs', '.cjs'];

/**
 * resolveModule finds the file a MODULE path names: the file itself, the path with .js,
 * .mjs or .cjs added, or a folder's package.json main / index.js. Undefined when none.
 */
export function resolveModule(path: string): string | undefined {
  for (const ext of EXTENSIONS) if (statSync(path + ext, { throwIfNoEntry: false })?.isFile()) return path + ext;
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  try {
    return createRequire(`${path}/`).resolve(path);
  } catch {
    return undefined;
  }
}

type Exports = Record<string, unknown>;
const fn = (v: unknown): v is (...a: never[]) => unknown => typeof v === 'function';

const loads = new Map<string, number>();

/**
 * importFresh imports a module, as a new instance when this process imported it before (a
 * gate reloaded in the same process must not reuse an application it closed): ES modules
 * get a distinct URL, a CommonJS entry module leaves the require cache (its dependencies stay).
 */
async function importFresh(file: string): Promise<Exports> {
  const n = loads.get(file) ?? 0;
  loads.set(file, n + 1);
  const url = pathToFileURL(file);
  if (n > 0) {
    url.search = `?gatekit-load=${n}`;
    delete createRequire(file).cache[file];
  }
  return (await import(url.href)) as Exports;
}

/** loadApp imports a module and works out how to call what it exports. */
export async function loadApp(file: string, name: string | undefined, style: Style): Promise<LoadedApp> {
  const ns = await importFresh(file);
  const dflt = ns.default as Exports | undefined;
  const value = name !== undefined ? (ns[name] ?? dflt?.[name]) : (dflt ?? ns.handler ?? ns.app ?? ns.fetch);
  if (value === undefined || value === null)
    throw new Error(name ? `the module has no export '${name}'` : 'the module has no default export (nor handler, app or fetch)');
  const upgrade = pick(ns.upgrade, dflt, 'upgrade');
  const close = pick(ns.close, dflt, 'close');
  const extra = { ...(upgrade ? { upgrade: upgrade as UpgradeHandler } : {}), ...(close ? { close: close as () => unknown } : {}) };
  if (value instanceof Server) {
    const server = value;
    const viaServer = server.listenerCount('upgrade') ? { upgrade: (req: IncomingMessage, s: Duplex, h: Buffer) => server.emit('upgrade', req, s, h) } : {};
    return { style: 'listener', listener: (req, res) => server.emit('request', req, res), ...viaServer, ...extra };
  }
  if (!fn(value) && fn((value as Exports).fetch)) {
    const obj = value as { fetch: FetchHandler };
    return { style: 'fetch', fetch: (r) => obj.fetch(r), ...extra };
  }
  if (!fn(value)) throw new Error(`the export is a ${typeof value}, not a request listener, a fetch handler or an http.Server`);
  const asListener = style === 'listener' || (style === 'auto' && value.length >= 2);
  return asListener ? { style: 'listener', listener: value as Listener, ...extra } : { style: 'fetch', fetch: value as FetchHandler, ...extra };
}

/** pick returns the first function among a named export and a property of the default, bound to its owner. */
function pick(named: unknown, dflt: Exports | undefined, key: string): ((...a: unknown[]) => unknown) | undefined {
  if (fn(named)) return named as (...a: unknown[]) => unknown;
  const onDefault = dflt?.[key];
  if (fn(onDefault)) return (...a: unknown[]) => (onDefault as (...x: unknown[]) => unknown).apply(dflt, a);
  return undefined;
}
