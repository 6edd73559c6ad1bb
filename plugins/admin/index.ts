import { bind, diagnostic, injectable, spanOf, type Diagnostic, type Plugin, type Resident, type ResidentContext, type Span } from '../../core/index.js';
import { isLoopback } from './access.js';
import { admin, type AdminConfig } from './schema.js';
import { AdminResident } from './resident.js';

/**
 * AdminPlugin owns `admin`: the master serves the admin API and the dashboard (AdminResident)
 * and asks the workers for their numbers. Workers hold nothing of it.
 */
@injectable()
export class AdminPlugin implements Plugin {
  readonly name = 'admin';
  readonly readsTraffic = true;
  readonly directives = [bind(admin, (cfg, at) => ({ validate: () => validateAdmin(cfg, at) }))];

  resident(ctx: ResidentContext): Resident<AdminConfig> {
    return new AdminResident(ctx);
  }
}

/** validateAdmin refuses a short token, and an address off loopback without a token. */
function validateAdmin(cfg: AdminConfig, at: Span): Diagnostic[] {
  if (cfg.token !== undefined && cfg.token.length < 16) {
    return [
      diagnostic(
        'GK_ADMIN_SHORT_TOKEN',
        'admin token is shorter than 16 characters',
        spanOf(cfg, 'token') ?? at,
        'use a long random token, e.g. from `openssl rand -hex 24`',
      ),
    ];
  }
  if (cfg.token === undefined && !isLoopback(cfg.address)) {
    return [
      diagnostic(
        'GK_ADMIN_NEEDS_TOKEN',
        `admin on '${cfg.address.text}' is reachable from other hosts and has no token`,
        spanOf(cfg, 'address') ?? at,
        'listen on 127.0.0.1, [::1] or a unix socket, or add { token ${ADMIN_TOKEN} }',
      ),
    ];
  }
  return [];
}
