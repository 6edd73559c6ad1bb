import { bind, inject, injectable, LOGGER, type Logger, type Plugin } from '../../core/index.js';
import { AuthUnit } from './handler.js';
import { HashPool } from './hash-pool.js';
import { auth } from './schema.js';

/** AuthPlugin owns `auth`: HTTP Basic (htpasswd), bearer tokens and JWT, with brute-force throttling. */
@injectable()
export class AuthPlugin implements Plugin {
  readonly name = 'auth';
  readonly directives = [bind(auth, (cfg, at) => new AuthUnit(cfg, at, this.log, this.pool))];
  private readonly log: Logger;
  /** pool checks slow password hashes for every auth unit of this worker; threads start with the first check. */
  private readonly pool = new HashPool();

  constructor(@inject(LOGGER) logger: Logger) {
    this.log = logger.child({ plugin: this.name });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
