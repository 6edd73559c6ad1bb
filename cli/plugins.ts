import type { DependencyContainer } from 'tsyringe';
import type { OptionSpec, Schema } from '../dsl/schema.js';
import { didYouMean } from '../dsl/diagnostics.js';
import { usage } from '../dsl/usage.js';
import { resolvePlugins, schemaContainer } from '../core/container.js';
import { globalBlock, globalSettings, http2, listen, pluginDirective, route, serverBlock } from '../core/kernel-schema.js';
import { loadPlugins } from '../core/load.js';
import type { Plugin } from '../core/plugin.js';
import { EXIT, printDiagnostics, type Io } from './io.js';

/** defaults renders what a schema fills in when it is left out: an option's default, an optional argument's. */
function defaults(s: Schema, own?: string): string {
  const args = (s.args ?? []).filter((a) => a.default).map((a) => `${a.name.toUpperCase()} ${a.default}`);
  const all = [...(own !== undefined ? [own] : []), ...args];
  return all.length ? ` (default ${all.join(', ')})` : '';
}

function optionLines(options: readonly OptionSpec[] | undefined, indent: string): string[] {
  return (options ?? []).flatMap((o) => [
    `${indent}${usage(o.name, o).padEnd(36)} ${o.doc ?? ''}${defaults(o, o.default)}${o.required ? ' (required)' : ''}${o.repeatable ? ' (repeatable)' : ''}`.trimEnd(),
    ...optionLines(o.options, `${indent}    `),
  ]);
}

const KERNEL_DIRECTIVES = [globalBlock, pluginDirective, serverBlock, listen, http2, route, ...globalSettings];

/**
 * pluginsCommand lists plugins and the directives they own, with usage, docs and defaults, from
 * their schemas: the built-ins, and with `configFile` the third-party plugins that file loads.
 */
export async function pluginsCommand(name: string | undefined, root: DependencyContainer, io: Io, configFile?: string): Promise<number> {
  let scope = root;
  if (configFile !== undefined) {
    const loaded = await loadPlugins(configFile, { root });
    if (printDiagnostics(io, loaded.diagnostics, loaded.sources)) return EXIT.config;
    scope = loaded.scope;
  }
  const plugins: { name: string; directives: Plugin['directives'] }[] = [
    { name: 'kernel', directives: KERNEL_DIRECTIVES },
    ...resolvePlugins(schemaContainer(scope)),
  ];
  const shown = name ? plugins.filter((p) => p.name === name || p.directives.some((d) => d.name === name)) : plugins;
  if (!shown.length) {
    const names = plugins.flatMap((p) => [p.name, ...p.directives.map((d) => d.name)]);
    const hint =
      didYouMean(name!, names) ?? (configFile === undefined ? 'a third-party plugin is listed with --config FILE, the .gate file that loads it' : undefined);
    io.err(`gatekit plugins: no plugin or directive named '${name}'${hint ? `; ${hint}` : ''}`);
    return EXIT.usage;
  }
  for (const p of shown) {
    io.out(`${p.name}`);
    for (const d of p.directives) {
      if (name && name !== p.name && d.name !== name) continue;
      io.out(`    ${usage(d.name, d.schema).padEnd(40)} ${d.kind.padEnd(11)} ${d.doc}${defaults(d.schema, d.default)}`);
      for (const line of optionLines(d.schema.options, '        ')) io.out(line);
    }
  }
  return EXIT.ok;
}
