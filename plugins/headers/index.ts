import { bind, injectable, type Plugin } from '../../core/index.js';
import { HeadersUnit } from './handler.js';
import { headers } from './schema.js';

/** HeadersPlugin owns `headers`: set, add, default and remove request or response headers. */
@injectable()
export class HeadersPlugin implements Plugin {
  readonly name = 'headers';
  readonly directives = [bind(headers, (cfg, at) => new HeadersUnit(cfg, at))];
}
