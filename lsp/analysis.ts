import type { DependencyContainer } from 'tsyringe';
import { resolvePlugins, schemaContainer } from '../core/container.js';
import { KERNEL_VARIABLES, VARIABLE_PREFIXES } from '../core/context.js';
import { loadConfig, type Loaded } from '../core/load.js';
import { PluginRegistry } from '../core/registry.js';

/** Analysis is one check of a document as `gatekit check` does it, and the schemas it may use. */
export interface Analysis {
  readonly loaded: Loaded;
  /** table holds the built-in directives and those of the plugins the file loads. */
  readonly table: PluginRegistry;
}

/**
 * analyze checks `file` with the editor's unsaved texts in place of the files on disk (the
 * file itself, its includes); a config whose plugins clash still gets the built-ins' schemas.
 */
export async function analyze(file: string, open: ReadonlyMap<string, string>, root: DependencyContainer): Promise<Analysis> {
  const loaded = await loadConfig(file, { root, files: open });
  return { loaded, table: loaded.registry ?? tableOf(loaded.scope) ?? tableOf(root)! };
}

function tableOf(scope: DependencyContainer): PluginRegistry | undefined {
  try {
    return PluginRegistry.from(resolvePlugins(schemaContainer(scope)));
  } catch {
    return undefined;
  }
}

const FAMILIES: Record<(typeof VARIABLE_PREFIXES)[number], string> = {
  http_: 'a request header: $http_user_agent is User-Agent',
  arg_: 'a query argument: $arg_page is ?page=',
  cookie_: 'a cookie: $cookie_sid is the cookie sid',
};

/** variableDocs gives each request variable's doc: the kernel's, then those the plugins declare. */
export function variableDocs(table: PluginRegistry): Map<string, string> {
  const docs = new Map(Object.entries(KERNEL_VARIABLES));
  for (const p of table.plugins) for (const v of p.variables ?? []) docs.set(v.name, v.doc);
  return docs;
}

/** variableDoc explains `$name`, a known variable or one of a family ($http_NAME); undefined when unknown. */
export function variableDoc(name: string, table: PluginRegistry): string | undefined {
  const own = variableDocs(table).get(name);
  if (own) return own;
  const family = VARIABLE_PREFIXES.find((p) => name.startsWith(p) && name.length > p.length);
  return family ? FAMILIES[family] : undefined;
}

/** prefixFamilies lists the variable families as completion stems (`http_`), with their docs. */
export function prefixFamilies(): [string, string][] {
  return Object.entries(FAMILIES);
}
