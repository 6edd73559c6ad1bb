import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GateError } from './errors.js';
import type { PluginClass } from './plugin.js';

const HERE = dirname(fileURLToPath(import.meta.url));

function entryOf(dir: string): string {
  const pkgFile = join(dir, 'package.json');
  if (existsSync(pkgFile)) {
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: unknown; main?: string };
    let exp = pkg.exports;
    if (exp && typeof exp === 'object' && '.' in exp) exp = (exp as Record<string, unknown>)['.'];
    if (exp && typeof exp === 'object') exp = (exp as Record<string, unknown>).import ?? (exp as Record<string, unknown>).default;
    const rel = typeof exp === 'string' ? exp : (pkg.main ?? 'index.js');
    return resolve(dir, rel);
  }
  return join(dir, 'index.js');
}

function findPackage(name: string, from: string): string | undefined {
  for (const start of [from, HERE]) {
    for (let dir = start; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(candidate)) return candidate;
      if (dirname(dir) === dir) break;
    }
  }
  return undefined;
}

/** resolvePluginSpec finds the module file a `plugin SPEC` names: a path (relative to the config) or a package. */
export function resolvePluginSpec(spec: string, configFile: string): string {
  const base = dirname(configFile);
  const local = spec.startsWith('.') || isAbsolute(spec);
  const target = local ? resolve(base, spec) : findPackage(spec, base);
  if (!target || !existsSync(target)) {
    throw new GateError('GK_PLUGIN_LOAD', local ? `no such file or directory: ${target}` : `package '${spec}' is not installed (npm install ${spec})`);
  }
  return statSync(target).isDirectory() ? entryOf(target) : target;
}

/** importPlugins imports a plugin module and returns the plugin classes it exports (default or `plugin`, one or a list). */
export async function importPlugins(file: string): Promise<PluginClass[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new GateError('GK_PLUGIN_LOAD', `cannot import ${file}: ${(e as Error).message}`, { cause: e });
  }
  const exported = mod.default ?? mod.plugin ?? mod.plugins;
  const list = (Array.isArray(exported) ? exported : [exported]) as unknown[];
  if (!list.length || list.some((p) => typeof p !== 'function')) {
    throw new GateError('GK_PLUGIN_INVALID', `${file} must export a plugin class as default (or a list of them)`);
  }
  return list as PluginClass[];
}
