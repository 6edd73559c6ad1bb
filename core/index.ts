// The public API of gatekit: everything a plugin (built-in or third-party) may import.
// Plugins import from here only, never from another plugin or a kernel file directly.

export { inject, injectable } from 'tsyringe';
export { arg, directive, option } from '../dsl/schema.js';
export type { Address, ArgSpec, Config, ConfigOf, DirectiveKind, DirectiveSpec, OptionSpec, Schema, TemplateLike } from '../dsl/schema.js';
export type { Span } from '../dsl/ast.js';
export { spanOf } from '../dsl/spans.js';
export { error as diagnostic, warning, type Diagnostic } from '../dsl/diagnostics.js';
export { CONFIG, LOGGER, METRICS, PLUGIN, PROCESS_INFO } from './tokens.js';
export { DONE } from './plugin.js';
export type { MasterContext, MasterDirective, MasterPart, Next, Plugin, PluginClass, TlsProvider, Unit, UnitPlace, VariableSpec } from './plugin.js';
export type { ProcessSpec, Supervised } from './process/supervisor.js';
export { Ctx, KERNEL_VARIABLES } from './context.js';
export type { BodyFilter, BodyTransform, HeadHook, ResponseHead, Sent } from './pipeline.js';
export { ERROR_CODES, GateError, HttpError, type ErrorCode } from './errors.js';
export type { Fields, Level, Logger } from './logger.js';
export type { Counter, Gauge, Labels, Metrics } from './metrics.js';
export type { ConfigService, ProcessInfo } from './container.js';
export type { RedispatchOptions } from './redispatch.js';
export type { GateConfig, GlobalSettings, ServerDecl, RouteDecl, UnitDecl } from './config.js';
export { sentAsIs } from './field-value.js';
export { charSet, percentEncode, urlText, type CharSet } from './url-text.js';
