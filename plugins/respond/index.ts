import { bind, injectable, type Plugin } from '../../core/index.js';
import { RespondUnit } from './handler.js';
import { respond } from './schema.js';

/** RespondPlugin owns `respond`: a fixed answer, for health checks and tests. */
@injectable()
export class RespondPlugin implements Plugin {
  readonly name = 'respond';
  readonly directives = [bind(respond, (cfg) => new RespondUnit(cfg))];
}
