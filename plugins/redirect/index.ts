import { injectable, type Plugin, type Span, type Unit } from '../../core/index.js';
import { RedirectUnit } from './handler.js';
import { redirect, type RedirectConfig } from './schema.js';

/** RedirectPlugin owns `redirect`: fixed or templated redirects, and the HTTP to HTTPS one. */
@injectable()
export class RedirectPlugin implements Plugin {
  readonly name = 'redirect';
  readonly directives = [redirect];

  create(_directive: string, config: unknown, at: Span): Unit {
    return new RedirectUnit(config as RedirectConfig, at);
  }
}
