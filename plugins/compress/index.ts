import { bind, injectable, type Plugin } from '../../core/index.js';
import { CompressUnit } from './handler.js';
import { compress } from './schema.js';

/** CompressPlugin owns `compress`: gzip, Brotli and deflate response encoding, negotiated per request. */
@injectable()
export class CompressPlugin implements Plugin {
  readonly name = 'compress';
  readonly directives = [bind(compress, (cfg) => new CompressUnit(cfg))];
}
