import { inspect } from 'node:util';
import type { Span } from '../dsl/ast.js';
import type { SchemaTable } from '../dsl/check.js';
import type { ContextName, DirectiveSpec } from '../dsl/schema.js';
import { KERNEL_VARIABLES, VARIABLE_PREFIXES } from './context.js';
import { GateError } from './errors.js';
import { globalBlock, globalSettings, http2, listen, pluginDirective, route, serverBlock } from './kernel-schema.js';
import type { Plugin } from './plugin.js';

/** KERNEL names the kernel as the owner of structure directives. */
export const KERNEL = 'kernel';

const PLACES: Record<DirectiveSpec['kind'], readonly ContextName[]> = {
  handler: ['server', 'route'],
  middleware: ['server', 'route'],
  certificate: ['server'],
  server: ['server'],
  global: ['global'],
};

/** Owned is a directive spec with the plugin that owns it. */
export interface Owned {
  readonly spec: DirectiveSpec;
  readonly plugin: Plugin | undefined; // undefined: the kernel
}

/**
 * PluginRegistry indexes plugins by name and directives by name, checking that names are
 * unique and every `requires` is met; it builds the schema table the checker uses.
 */
export class PluginRegistry implements SchemaTable {
  readonly contexts: Record<ContextName, Map<string, DirectiveSpec>> = { top: new Map(), global: new Map(), server: new Map(), route: new Map() };
  private readonly byName = new Map<string, Plugin>();
  private readonly owners = new Map<string, Owned>();
  private readonly vars = new Set(Object.keys(KERNEL_VARIABLES));

  private constructor(
    readonly plugins: readonly Plugin[],
    private readonly broken: ReadonlyMap<string, Span>,
  ) {
    this.kernel();
    for (const p of plugins) this.add(p);
    for (const p of plugins) {
      for (const r of p.requires ?? []) {
        if (!this.byName.has(r)) throw new GateError('GK_PLUGIN_REQUIRES', `plugin '${p.name}' requires plugin '${r}', which is not loaded`);
      }
    }
  }

  /**
   * from builds the registry from resolved plugin instances; throws GateError on programmer
   * errors. `broken` gives the directives of plugins that failed their check, with their `plugin` line.
   */
  static from(plugins: readonly Plugin[], broken: ReadonlyMap<string, Span> = new Map()): PluginRegistry {
    return new PluginRegistry(plugins, broken);
  }

  /** brokenAt gives the `plugin` line of a directive whose plugin failed its check. */
  brokenAt(name: string): Span | undefined {
    return this.owners.has(name) ? undefined : this.broken.get(name);
  }

  private kernel(): void {
    for (const s of [globalBlock, pluginDirective, serverBlock]) this.place(s, undefined, ['top']);
    this.place(listen, undefined, ['server']);
    this.place(http2, undefined, ['server']);
    this.place(route, undefined, ['server', 'route']);
    for (const s of globalSettings) this.place(s, undefined, ['global']);
  }

  private add(p: Plugin): void {
    const makes = typeof p?.create === 'function' || (Array.isArray(p?.directives) && p.directives.every((d) => typeof d?.create === 'function'));
    if (!p || typeof p.name !== 'string' || !Array.isArray(p.directives) || !makes) {
      throw new GateError(
        'GK_PLUGIN_INVALID',
        `not a plugin: ${inspect((p as { name?: unknown } | undefined)?.name ?? p, { depth: 0 })} (needs a name, and directives bound to factories or a create())`,
      );
    }
    if (this.byName.has(p.name)) throw new GateError('GK_PLUGIN_DUPLICATE', `two plugins are named '${p.name}'`);
    this.byName.set(p.name, p);
    for (const s of p.directives) this.place(s, p, PLACES[s.kind as DirectiveSpec['kind']] ?? []);
    for (const v of p.variables ?? []) this.vars.add(v.name);
  }

  private place(spec: DirectiveSpec, plugin: Plugin | undefined, where: readonly ContextName[]): void {
    const prev = this.owners.get(spec.name);
    if (prev) {
      throw new GateError(
        'GK_DIRECTIVE_DUPLICATE',
        `directive '${spec.name}' is declared by both '${prev.plugin?.name ?? KERNEL}' and '${plugin?.name ?? KERNEL}'`,
      );
    }
    this.owners.set(spec.name, { spec, plugin });
    for (const c of where) this.contexts[c].set(spec.name, spec);
  }

  /** plugin returns a plugin by name. */
  plugin(name: string): Plugin | undefined {
    return this.byName.get(name);
  }

  /** owner returns who owns a directive. */
  owner(directive: string): Owned | undefined {
    return this.owners.get(directive);
  }

  /** isVariable tells whether `$name` is a known request variable. */
  isVariable(name: string): boolean {
    return this.vars.has(name) || VARIABLE_PREFIXES.some((p) => name.startsWith(p) && name.length > p.length);
  }

  /** variables lists the known variable names. */
  variables(): Iterable<string> {
    return this.vars;
  }
}
