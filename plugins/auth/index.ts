import { inject, injectable, LOGGER, type Logger, type Plugin, type Span, type Unit } from '../../core/index.js';
import { AuthUnit } from './handler.js';
import { HashPool } from './hash-pool.js';
import { auth, type AuthConfig } from './schema.js';

/** AuthPlugin owns `auth`: HTTP Basic (htpasswd), bearer tokens and JWT, with brute-force throttling. */
@injectable()
export class AuthPlugin implements Plugin {
  readonly name = 'auth';
  readonly directives = [auth];
  private readonly log: Logger;
  /** pool checks slow password hashes for every auth unit of this worker; threads start with the first check. */
  private readonly pool = new HashPool();

  constructor(@inject(LOGGER) logger: Logger) {
    this.log = logger.child({ plugin: this.name });
  }

  create(_directive: string, config: unknown, at: Span): Unit {
    return new AuthUnit(config as AuthConfig, at, this.log, this.pool);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
