import { bind, injectable, type Plugin } from '../../core/index.js';
import { RedirectUnit } from './handler.js';
import { redirect } from './schema.js';

/** RedirectPlugin owns `redirect`: fixed or templated redirects, and the HTTP to HTTPS one. */
@injectable()
export class RedirectPlugin implements Plugin {
  readonly name = 'redirect';
  readonly directives = [bind(redirect, (cfg, at) => new RedirectUnit(cfg, at))];
}
