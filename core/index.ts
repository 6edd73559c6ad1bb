// core/: the kernel. This file is its public API: everything a plugin (built-in or
// third-party) may import, and nothing else (each name here has a user outside tests).
// Plugins import from here and from lib/, never from another plugin or a kernel file directly.

export { inject, injectable } from 'tsyringe';
export { arg, directive, option } from '../dsl/schema.js';
export type { Address, ConfigOf, DirectiveSpec, TemplateLike } from '../dsl/schema.js';
export type { Span } from '../dsl/ast.js';
export { spanOf } from '../dsl/spans.js';
export { error as diagnostic, warning, type Diagnostic } from '../dsl/diagnostics.js';
export { LOGGER, PROCESS_INFO, STORE } from './tokens.js';
export type { SharedStore, StoreLease } from './store/shared-store.js';
export { bind, DONE } from './plugin.js';
export type {
  AnyUnit,
  CertificateReport,
  CertificateUnit,
  HandlerUnit,
  ListenPlace,
  MasterContext,
  MasterDirective,
  MasterPart,
  Next,
  Plugin,
  PluginClass,
  PluginDirective,
  Resident,
  ResidentContext,
  TlsProvider,
  Unit,
  UnitPlace,
} from './plugin.js';
export type { MasterControl, MasterStatus, ReloadReport } from './process/master-control.js';
export type { WorkerStats } from './process/worker-stats.js';
export type { PoolReport, UnitReport, UpstreamReport } from './report.js';
export { DURATION_BUCKETS, type ListenerCounts, type RouteCounts } from './traffic.js';
export { gatekitVersion } from './version.js';
export type { Supervised } from './process/supervisor.js';
export { Ctx } from './context.js';
export type { BodyFilter, BodyTransform, ResponseHead, Sent } from './pipeline.js';
export { checkedFields, writeCheckedHead, type CheckedFields } from './checked-fields.js';
export { keepRequestMembers, keepResponseMethods } from './keep-members.js';
export { GateError, HttpError } from './errors.js';
export type { Fields, Logger } from './logger.js';
export type { ProcessInfo } from './container.js';
export { charSet, percentEncode, urlText } from './url-text.js';
