import { bind, injectable, type Plugin } from '../../core/index.js';
import { StaticUnit } from './handler.js';
import { staticFiles } from './schema.js';

/** StaticPlugin owns `static`: files from a folder, with caching, ranges and precompressed variants. */
@injectable()
export class StaticPlugin implements Plugin {
  readonly name = 'static';
  readonly directives = [bind(staticFiles, (cfg, at) => new StaticUnit(cfg, at))];
}
