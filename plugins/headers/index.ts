import { injectable, type Plugin, type Span, type Unit } from '../../core/index.js';
import { HeadersUnit } from './handler.js';
import { headers, type HeadersConfig } from './schema.js';

/** HeadersPlugin owns `headers`: set, add, default and remove request or response headers. */
@injectable()
export class HeadersPlugin implements Plugin {
  readonly name = 'headers';
  readonly directives = [headers];

  create(_directive: string, config: unknown, at: Span): Unit {
    return new HeadersUnit(config as HeadersConfig, at);
  }
}
