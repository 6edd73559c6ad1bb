import type { DependencyContainer } from 'tsyringe';
import type { OptionSpec } from '../../dsl/schema.js';
import { didYouMean } from '../../dsl/diagnostics.js';
import { usage } from '../../dsl/usage.js';
import { resolvePlugins, schemaContainer } from '../container.js';
import { globalBlock, globalSettings, http2, listen, pluginDirective, route, serverBlock } from '../kernel-schema.js';
import type { Plugin } from '../plugin.js';
import { EXIT, type Io } from './io.js';

function optionLines(options: readonly OptionSpec[] | undefined, indent: string): string[] {
  return (options ?? []).flatMap((o) => [
    `${indent}${usage(o.name, o).padEnd(36)} ${o.doc ?? ''}${o.required ? ' (required)' : ''}${o.repeatable ? ' (repeatable)' : ''}`.trimEnd(),
    ...optionLines(o.options, `${indent}    `),
  ]);
}

const KERNEL_DIRECTIVES = [globalBlock, pluginDirective, serverBlock, listen, http2, route, ...globalSettings];

/** pluginsCommand lists plugins and the directives they own, with usage and docs, from their schemas. */
export function pluginsCommand(name: string | undefined, root: DependencyContainer, io: Io): number {
  const c = schemaContainer(root);
  const plugins: { name: string; directives: Plugin['directives'] }[] = [{ name: 'kernel', directives: KERNEL_DIRECTIVES }, ...resolvePlugins(c)];
  const shown = name ? plugins.filter((p) => p.name === name || p.directives.some((d) => d.name === name)) : plugins;
  if (!shown.length) {
    const names = plugins.flatMap((p) => [p.name, ...p.directives.map((d) => d.name)]);
    io.err(`gatekit plugins: no plugin or directive named '${name}'${(h => h ? `; ${h}` : '')(didYouMean(name!, names))}`);
    return EXIT.usage;
  }
  for (const p of shown) {
    io.out(`${p.name}`);
    for (const d of p.directives) {
      if (name && name !== p.name && d.name !== name) continue;
      io.out(`    ${usage(d.name, d.schema).padEnd(40)} ${d.kind.padEnd(10)} ${d.doc}`);
      for (const line of optionLines(d.schema.options, '        ')) io.out(line);
    }
  }
  return EXIT.ok;
}
