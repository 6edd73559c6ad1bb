import { readFileSync } from 'node:fs';
import type { DependencyContainer } from 'tsyringe';
import type { Directive, Span } from '../dsl/ast.js';
import { checkDirectives } from '../dsl/check.js';
import { error, warning, type Diagnostic } from '../dsl/diagnostics.js';
import type { Env } from '../dsl/env.js';
import { expandText, loadGate, Sources } from '../dsl/expand.js';
import { ModelBuilder, type GateConfig, type GlobalSettings, type ServerDecl } from './config.js';
import { allUnits, makeUnit } from './units.js';
import { pluginForSchema, registerPlugin, resolvePlugins, schemaContainer } from './container.js';
import { checkPlugin, type SchemaProblem } from './plugin-check.js';
import { GateError } from './errors.js';
import type { Logger } from './logger.js';
import type { PluginClass } from './plugin.js';
import { importPlugins, resolvePluginSpec } from './plugin-loader.js';
import { PluginRegistry } from './registry.js';

/** LoadOptions say where a config comes from and what it may use. */
export interface LoadOptions {
  /** root holds the built-in plugins (see plugins/index.ts registerBuiltins). */
  readonly root: DependencyContainer;
  readonly env?: Env;
  /** text, when given, is the config's source instead of reading `file`. */
  readonly text?: string;
  /** files, when given, hold the text of the config and its includes (a worker loads what its master checked). */
  readonly files?: ReadonlyMap<string, string>;
}

/** Loaded is the result of loading a config: the model when it checks, and every diagnostic. */
export interface Loaded {
  readonly file: string;
  readonly config?: GateConfig;
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: Sources;
  /** scope is the container holding built-in and this config's third-party plugins. */
  readonly scope: DependencyContainer;
  readonly registry?: PluginRegistry;
  /** settings are the global settings as far as they could be read, even from a config with errors (where its pid file is). */
  readonly settings?: GlobalSettings;
}

const byPosition = (a: Diagnostic, b: Diagnostic): number => a.span.file.localeCompare(b.span.file) || a.span.line - b.span.line || a.span.col - b.span.col;

/**
 * thirdParty imports the plugins a config names and registers in `scope` each whose
 * declaration checks; a plugin that cannot be imported or built, or declares a malformed
 * schema, is a diagnostic at its `plugin` line naming its file and the field at fault.
 */
async function thirdParty(ds: readonly Directive[], scope: DependencyContainer, diags: Diagnostic[]): Promise<Map<string, Span>> {
  const broken = new Map<string, Span>();
  for (const d of ds) {
    if (d.name !== 'plugin' || !d.args[0]) continue;
    const a = d.args[0];
    let file: string;
    let classes: PluginClass[];
    try {
      file = resolvePluginSpec(a.value, a.span.file);
      classes = await importPlugins(file);
    } catch (e) {
      if (!(e instanceof GateError)) throw e;
      diags.push(error('GK_PLUGIN_LOAD', `cannot load plugin '${a.value}'`, a.span, e.message));
      continue;
    }
    for (const P of classes) {
      const { problems, names } = inspectPlugin(scope, P);
      for (const p of problems)
        diags.push(error('GK_PLUGIN_SCHEMA', `plugin '${a.value}' (${file}): ${p.field ? `${p.field}: ` : ''}${p.message}`, a.span, p.help));
      if (problems.length) for (const n of names) broken.set(n, a.span);
      else registerPlugin(scope, P);
    }
  }
  return broken;
}

/**
 * inspectPlugin builds a plugin class and checks its declaration (a constructor that throws is
 * a problem too); `names` are the directive names it declares, as far as they can be read.
 */
function inspectPlugin(scope: DependencyContainer, P: PluginClass): { problems: SchemaProblem[]; names: string[] } {
  let p: unknown;
  try {
    p = pluginForSchema(scope, P);
  } catch (e) {
    return {
      problems: [
        {
          field: '',
          message: `its constructor failed: ${(e as Error).message}`,
          help: 'a plugin constructor only stores its services; work belongs in provision()',
        },
      ],
      names: [],
    };
  }
  const list = (p as { directives?: unknown }).directives;
  const names = Array.isArray(list) ? list.map((d) => (d as { name?: unknown })?.name).filter((n): n is string => typeof n === 'string') : [];
  return { problems: checkPlugin(p), names };
}

/**
 * validateUnits makes and validates the unit of every directive that checked clean, even when
 * others have errors, so that one `check` reports every mistake (`static ./www` with no such
 * folder, beside an unrelated typo).
 */
function validateUnits(config: GateConfig, model: ModelBuilder, diags: Diagnostic[]): void {
  const faulty = model.faulty;
  for (const u of allUnits(config)) {
    if (faulty.has(u)) continue;
    try {
      diags.push(...(makeUnit(u.plugin, u, config).validate?.() ?? []));
    } catch (e) {
      diags.push(error('GK_PLUGIN_CREATE', `'${u.directive}' could not be set up: ${(e as Error).message}`, u.span));
    }
  }
  matchCertificates(config, model.troubled, diags);
}

/**
 * matchCertificates pairs each server's `listen ... tls` with its certificate source: a TLS
 * address with none is an error (`run` could not open it); a certificate with no TLS address
 * is a warning (it, and its HTTPS-only headers, would never be used).
 */
function matchCertificates(config: GateConfig, troubled: ReadonlySet<ServerDecl>, diags: Diagnostic[]): void {
  for (const s of config.servers) {
    const givers = s.units.filter((d) => d.kind === 'certificate');
    const secure = s.listens.filter((l) => l.tls);
    if (givers.length === 0 && !troubled.has(s))
      for (const l of secure) {
        diags.push(
          error(
            'GK_CONFIG_NO_CERTIFICATE',
            `'listen ${l.address.text} tls' needs a certificate, and this server has none`,
            l.span,
            'add tls { cert ./site.pem; key ./site.key } to the server, or tls self_signed for development',
          ),
        );
      }
    if (secure.length === 0)
      for (const d of givers) {
        diags.push(
          warning(
            'GK_CONFIG_TLS_UNUSED',
            `'${d.directive}' is never used: this server has no 'listen ... tls'`,
            d.span,
            'its certificate and HTTPS headers (such as HSTS) apply to TLS addresses only: add one, e.g. listen 443 tls',
          ),
        );
      }
  }
}

/** logDiagnostics writes a config's diagnostics to the log, for a server that has no terminal to print them on. */
export function logDiagnostics(log: Logger, diags: readonly Diagnostic[]): void {
  for (const d of diags) {
    const line = `${d.span.file}:${d.span.line}:${d.span.col}: ${d.severity}: ${d.message}`;
    if (d.severity === 'error') log.error(line, { help: d.help });
    else log.warn(line, { help: d.help });
  }
}

/** WithPlugins is a config read and expanded, with the container of the plugins it may use. */
interface WithPlugins {
  readonly ds: readonly Directive[];
  /** scope holds the built-in plugins and the third-party ones the config loads (those that load and check). */
  readonly scope: DependencyContainer;
  readonly sources: Sources;
  readonly diags: Diagnostic[];
  /** broken names the directives of plugins that failed their check. */
  readonly broken: ReadonlyMap<string, Span>;
}

async function expandWithPlugins(file: string, o: LoadOptions): Promise<WithPlugins> {
  const sources = new Sources();
  const diags: Diagnostic[] = [];
  const files = o.files;
  const x = { env: o.env ?? process.env, sources, diags, ...(files ? { readFile: (p: string) => files.get(p) ?? readFileSync(p, 'utf8') } : {}) };
  const ds = o.text === undefined ? loadGate(file, x) : expandText(o.text, file, x);
  const scope = o.root.createChildContainer();
  const broken = await thirdParty(ds, scope, diags);
  return { ds, scope, sources, diags, broken };
}

/**
 * loadPlugins reads a config only as far as its `plugin` lines: the container of the plugins
 * it may use, and the diagnostics of those that could not be loaded (for `gatekit plugins --config`).
 */
export async function loadPlugins(file: string, o: LoadOptions): Promise<Pick<Loaded, 'scope' | 'sources' | 'diagnostics'>> {
  const { scope, sources, diags } = await expandWithPlugins(file, o);
  return { scope, sources, diagnostics: diags.filter((d) => d.code.startsWith('GK_PLUGIN')).sort(byPosition) };
}

/**
 * loadConfig reads, expands, and checks a config: it loads the third-party plugins it names,
 * validates every directive against its owner's schema, builds the model and runs each
 * unit's own validation. It never throws on a user mistake: problems are diagnostics.
 */
export async function loadConfig(file: string, o: LoadOptions): Promise<Loaded> {
  const { ds, scope, sources, diags, broken } = await expandWithPlugins(file, o);
  const done = (extra: Partial<Loaded> = {}): Loaded => ({ file, diagnostics: diags.sort(byPosition), sources, scope, ...extra });

  let registry: PluginRegistry;
  try {
    registry = PluginRegistry.from(resolvePlugins(schemaContainer(scope)), broken);
  } catch (e) {
    if (!(e instanceof GateError)) throw e;
    diags.push(error(e.code, e.message, { file, line: 1, col: 1, len: 0 }));
    return done();
  }
  const tree = checkDirectives(ds, 'top', registry, diags);
  const model = new ModelBuilder(registry, diags);
  const config = model.build(file, tree);
  validateUnits(config, model, diags);
  const ok = !diags.some((d) => d.severity === 'error');
  return done({ registry, settings: config.global, ...(ok ? { config } : {}) });
}
