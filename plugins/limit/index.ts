import { injectable, type Plugin, type Span, type Unit } from '../../core/index.js';
import { LimitUnit } from './handler.js';
import { limit, type LimitConfig } from './schema.js';

/** LimitPlugin owns `limit`: body size and pace, request rate and requests in flight. */
@injectable()
export class LimitPlugin implements Plugin {
  readonly name = 'limit';
  readonly directives = [limit];

  create(_directive: string, config: unknown, at: Span): Unit {
    return new LimitUnit(config as LimitConfig, at);
  }
}
