// The public API of gatekit: everything a plugin (built-in or third-party) may import.
// Plugins import from here only, never from another plugin or a kernel file directly.

export { inject, injectable } from 'tsyringe';
export { arg, directive, option } from '../dsl/schema.js';
export type { Address, ArgSpec, Config, ConfigOf, DirectiveKind, DirectiveSpec, OptionSpec, Schema, TemplateLike } from '../dsl/schema.js';
export type { Span } from '../dsl/ast.js';
export { spanOf } from '../dsl/spans.js';
export { error as diagnostic, warning, type Diagnostic } from '../dsl/diagnostics.js';
export { CONFIG, LOGGER, METRICS, PLUGIN, PROCESS_INFO, ROUTER } from './tokens.js';
export { DONE } from './plugin.js';
export type { MasterContext, MasterDirective, MasterPart, Next, Plugin, PluginClass, Resident, ResidentContext, TlsProvider, Unit, UnitPlace, VariableSpec } from './plugin.js';
export type { DiagnosticReport, MasterControl, MasterStatus, ReloadReport } from './process/master-control.js';
export type { WorkerStats } from './process/worker-stats.js';
export type { PoolReport, UnitReport, UpstreamReport } from './report.js';
export type { RouteAnswer } from './route-for.js';
export { DURATION_BUCKETS, type ListenerCounts, type RouteCounts, type TrafficCounts } from './traffic.js';
export { gatekitVersion } from './version.js';
export type { ProcessSpec, Supervised } from './process/supervisor.js';
export { Ctx, KERNEL_VARIABLES } from './context.js';
export type { BodyFilter, BodyTransform, HeadHook, ResponseHead, Sent } from './pipeline.js';
export { ERROR_CODES, GateError, HttpError, type ErrorCode } from './errors.js';
export type { Fields, Level, Logger } from './logger.js';
export type { Counter, Gauge, Labels, Metrics } from './metrics.js';
export type { ConfigService, ProcessInfo } from './container.js';
export type { Dispatcher, RedispatchOptions } from './dispatcher.js';
export type { GateConfig, GlobalSettings, ServerDecl, RouteDecl, UnitDecl } from './config.js';
export { sentAsIs } from './field-value.js';
export { charSet, percentEncode, urlText, type CharSet } from './url-text.js';
export { statPath, TurnStats } from './turn-stats.js';
export { cgiMetaVariables, type CgiScript, type CgiSite } from './cgi-env.js';
export { bodyBuffering, bodyBufferingOptions, bufferBody, type BodyBuffering, type BodyBufferingConfig, type BufferedBody } from './request-body.js';
export {
  frame, FRAME_HEAD, FrameDecoder, FrameReader, FrameWriter, HTTP_FRAME, HttpExchange, Link, LINK_FRAME, MAX_CONTROL, POOL_PYTHON, POOL_QUEUE_WAIT, PoolLinks,
  PoolStream, PoolWatch, poolRunDir, poolsPart, PYTHON_APP_SPEC, PythonPool, pythonPoolSettings, RECALL_AFTER, sourceFile, textFrame, TimedList,
  type ExchangeSpec, type FrameSink, type LinkFrameSink, type PoolStatus, type PoolWorker, type PythonPoolConfig, type PythonPoolSettings, type PythonPoolSpec, type Timed,
} from './pool/index.js';
export { BadCgiHead, CGI_MAX_HEAD, CgiHeadParser, parseCgiHead, type CgiHead } from './cgi-response.js';
