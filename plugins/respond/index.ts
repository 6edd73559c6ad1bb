import { injectable, type Plugin, type Unit } from '../../core/index.js';
import { RespondUnit } from './handler.js';
import { respond, type RespondConfig } from './schema.js';

/** RespondPlugin owns `respond`: a fixed answer, for health checks and tests. */
@injectable()
export class RespondPlugin implements Plugin {
  readonly name = 'respond';
  readonly directives = [respond];

  create(_directive: string, config: unknown): Unit {
    return new RespondUnit(config as RespondConfig);
  }
}
