import { injectable, type Plugin, type Unit } from '../../core/index.js';
import { CompressUnit } from './handler.js';
import { compress, type CompressConfig } from './schema.js';

/** CompressPlugin owns `compress`: gzip, Brotli and deflate response encoding, negotiated per request. */
@injectable()
export class CompressPlugin implements Plugin {
  readonly name = 'compress';
  readonly directives = [compress];

  create(_directive: string, config: unknown): Unit {
    return new CompressUnit(config as CompressConfig);
  }
}
