import { readFileSync } from 'node:fs';
import type { DependencyContainer } from 'tsyringe';
import type { Directive } from '../dsl/ast.js';
import { checkDirectives } from '../dsl/check.js';
import { error, warning, type Diagnostic } from '../dsl/diagnostics.js';
import type { Env } from '../dsl/env.js';
import { expandText, loadGate, Sources } from '../dsl/expand.js';
import { ModelBuilder, type GateConfig, type GlobalSettings, type UnitDecl } from './config.js';
import { allUnits, placeOf } from './units.js';
import { registerPlugin, resolvePlugins, schemaContainer } from './container.js';
import { GateError } from './errors.js';
import type { Logger } from './logger.js';
import type { PluginClass, Unit } from './plugin.js';
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

const byPosition = (a: Diagnostic, b: Diagnostic): number =>
  a.span.file.localeCompare(b.span.file) || a.span.line - b.span.line || a.span.col - b.span.col;

async function thirdParty(ds: readonly Directive[], diags: Diagnostic[]): Promise<PluginClass[]> {
  const out: PluginClass[] = [];
  for (const d of ds) {
    if (d.name !== 'plugin' || !d.args[0]) continue;
    const a = d.args[0];
    try {
      out.push(...(await importPlugins(resolvePluginSpec(a.value, a.span.file))));
    } catch (e) {
      if (!(e instanceof GateError)) throw e;
      diags.push(error('GK_PLUGIN_LOAD', `cannot load plugin '${a.value}'`, a.span, e.message));
    }
  }
  return out;
}

function validateUnits(config: GateConfig, diags: Diagnostic[]): void {
  const made = new Map<UnitDecl, Unit>();
  for (const u of allUnits(config)) {
    try {
      const unit = u.plugin.create(u.directive, u.config, u.span, placeOf(u, config));
      made.set(u, unit);
      diags.push(...(unit.validate?.() ?? []));
    } catch (e) {
      diags.push(error('GK_PLUGIN_CREATE', `'${u.directive}' could not be set up: ${(e as Error).message}`, u.span));
    }
  }
  matchCertificates(config, made, diags);
}

/**
 * matchCertificates pairs each server's `listen ... tls` with its units that give a certificate
 * (Unit.tls): a TLS address with none is an error (`run` could not open it); a certificate
 * with no TLS address is a warning (it, and its HTTPS-only headers, would never be used).
 */
function matchCertificates(config: GateConfig, made: ReadonlyMap<UnitDecl, Unit>, diags: Diagnostic[]): void {
  for (const s of config.servers) {
    if (s.units.some((d) => !made.has(d))) continue; // reported already, and might have been the certificate
    const givers = s.units.filter((d) => made.get(d)!.tls);
    const secure = s.listens.filter((l) => l.tls);
    if (givers.length === 0) for (const l of secure) {
      diags.push(error('GK_CONFIG_NO_CERTIFICATE', `'listen ${l.address.text} tls' needs a certificate, and this server has none`, l.span,
        'add tls { cert ./site.pem; key ./site.key } to the server, or tls self_signed for development'));
    }
    if (secure.length === 0) for (const d of givers) {
      diags.push(warning('GK_CONFIG_TLS_UNUSED', `'${d.directive}' is never used: this server has no 'listen ... tls'`, d.span,
        'its certificate and HTTPS headers (such as HSTS) apply to TLS addresses only: add one, e.g. listen 443 tls'));
    }
  }
}

/** logDiagnostics writes a config's diagnostics to the log, for a server that has no terminal to print them on. */
export function logDiagnostics(log: Logger, diags: readonly Diagnostic[]): void {
  for (const d of diags) {
    const line = `${d.span.file}:${d.span.line}:${d.span.col}: ${d.severity}: ${d.message}`;
    if (d.severity === 'error') log.error(line, { help: d.help }); else log.warn(line, { help: d.help });
  }
}

/**
 * loadConfig reads, expands, and checks a config: it loads the third-party plugins it names,
 * validates every directive against its owner's schema, builds the model and runs each
 * unit's own validation. It never throws on a user mistake: problems are diagnostics.
 */
export async function loadConfig(file: string, o: LoadOptions): Promise<Loaded> {
  const sources = new Sources();
  const diags: Diagnostic[] = [];
  const files = o.files;
  const x = { env: o.env ?? process.env, sources, diags, ...(files ? { readFile: (p: string) => files.get(p) ?? readFileSync(p, 'utf8') } : {}) };
  const ds = o.text === undefined ? loadGate(file, x) : expandText(o.text, file, x);
  const scope = o.root.createChildContainer();
  for (const P of await thirdParty(ds, diags)) registerPlugin(scope, P);
  const done = (extra: Partial<Loaded> = {}): Loaded => ({ file, diagnostics: diags.sort(byPosition), sources, scope, ...extra });

  let registry: PluginRegistry;
  try {
    registry = PluginRegistry.from(resolvePlugins(schemaContainer(scope)));
  } catch (e) {
    if (!(e instanceof GateError)) throw e;
    diags.push(error(e.code, e.message, { file, line: 1, col: 1, len: 0 }));
    return done();
  }
  const tree = checkDirectives(ds, 'top', registry, diags);
  const config = new ModelBuilder(registry, diags).build(file, tree);
  if (!diags.some((d) => d.severity === 'error')) validateUnits(config, diags);
  const ok = !diags.some((d) => d.severity === 'error');
  return done({ registry, settings: config.global, ...(ok ? { config } : {}) });
}
