import { injectable, type Plugin, type Span, type Unit } from '../../core/index.js';
import { StaticUnit } from './handler.js';
import { staticFiles, type StaticConfig } from './schema.js';

/** StaticPlugin owns `static`: files from a folder, with caching, ranges and precompressed variants. */
@injectable()
export class StaticPlugin implements Plugin {
  readonly name = 'static';
  readonly directives = [staticFiles];

  create(_directive: string, config: unknown, at: Span): Unit {
    return new StaticUnit(config as StaticConfig, at);
  }
}
