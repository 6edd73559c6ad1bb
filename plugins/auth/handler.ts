import { availableParallelism } from 'node:os';
import { HttpError, type Ctx, type Diagnostic, type Logger, type Next, type Span, type HandlerUnit } from '../../core/index.js';
import { basicCredentials, bearerToken, TokenList, UserStore } from './credentials.js';
import { FailureGuard } from './guard.js';
import type { HashPool } from './hash-pool.js';
import { JwtVerifier } from './jwt.js';
import type { AuthConfig } from './schema.js';
import { validateAuth } from './validate.js';

/** Outcome of a check: a user, no credentials, wrong ones, (bearer) a header that is no token at all, or (basic) too many checks in flight. */
type Outcome = { readonly user: string } | 'none' | 'failed' | 'malformed' | 'busy';

/** CHECKS_PER_CPU sets the default max_checks: with bcrypt at ~100 ms, the last in line waits about 0.4 s. */
const CHECKS_PER_CPU = 4;

/**
 * AuthUnit lets a request through only with valid credentials, setting $user; otherwise it
 * answers 401 with a challenge. Failed attempts are counted per client; past max_failures a
 * client gets 429 until the cooldown passes, without its credentials being checked at all.
 * Upgrade (WebSocket) requests are checked the same way.
 */
export class AuthUnit implements HandlerUnit {
  private readonly guard: FailureGuard;
  private readonly open: (path: string) => boolean;
  private readonly challenge: string;
  private check: ((ctx: Ctx) => Promise<Outcome>) | undefined;
  private busy = { count: 0, loggedAt: -Infinity };

  constructor(
    private readonly cfg: AuthConfig,
    private readonly at: Span,
    private readonly log: Logger,
    private readonly pool: HashPool,
  ) {
    this.guard = new FailureGuard(cfg.max_failures, cfg.cooldown);
    this.open = exceptMatcher(cfg.except ?? []);
    const realm = cfg.realm.replace(/["\\]/g, '\\$&');
    this.challenge = cfg.mode === 'basic' ? `Basic realm="${realm}", charset="UTF-8"` : `Bearer realm="${realm}"`;
  }

  validate(): Diagnostic[] {
    return validateAuth(this.cfg, this.at);
  }

  async provision(): Promise<void> {
    const cfg = this.cfg;
    if (cfg.mode === 'basic') {
      const store = await UserStore.load(cfg.users, cfg.user ?? [], this.pool, cfg.max_checks ?? CHECKS_PER_CPU * availableParallelism());
      this.check = async (ctx) => {
        const c = basicCredentials(ctx.req.headers.authorization);
        if (c.kind !== 'given') return c.kind === 'none' ? 'none' : 'failed';
        const verdict = await store.check(c.value.user, c.value.password);
        return verdict === 'busy' ? 'busy' : verdict ? { user: c.value.user } : 'failed';
      };
    } else if (cfg.mode === 'bearer') {
      const tokens = new TokenList(cfg.token ?? []);
      this.check = async (ctx) => {
        const t = bearerToken(ctx.req.headers.authorization);
        if (t.kind !== 'given') return t.kind;
        const name = tokens.match(t.value);
        return name === undefined ? 'failed' : { user: name };
      };
    } else {
      const verifier = await JwtVerifier.load(cfg, this.at);
      const claim = cfg.user_claim;
      this.check = async (ctx) => {
        const t = bearerToken(ctx.req.headers.authorization);
        if (t.kind !== 'given') return t.kind;
        try {
          const claims = await verifier.verify(t.value);
          const user = claims[claim];
          return { user: typeof user === 'string' || typeof user === 'number' ? String(user) : '' };
        } catch (e) {
          this.log.debug('jwt refused', { request_id: ctx.requestId, reason: (e as { code?: string }).code ?? (e as Error).message });
          return 'failed';
        }
      };
    }
  }

  async handle(ctx: Ctx, next: Next): Promise<void> {
    if (this.open(ctx.path)) return next();
    const client = ctx.remote;
    const wait = this.guard.retryAfter(client);
    if (wait !== undefined) throw new HttpError(429, 'too many failed attempts', { headers: { 'retry-after': String(wait) } });
    if (!this.check) throw new HttpError(503, 'auth is not provisioned');
    const outcome = await this.check(ctx);
    if (outcome === 'busy') throw this.overloaded();
    if (typeof outcome === 'object') {
      this.guard.succeed(client);
      if (outcome.user) ctx.vars.set('user', outcome.user);
      return next();
    }
    let challenge = this.challenge;
    if (outcome !== 'none') {
      this.guard.fail(client);
      this.log.info('authentication failed', { request_id: ctx.requestId, remote: client, uri: ctx.uri });
      // RFC 6750 3.1: a header that holds no token is a bad request; a token that fails, a 401
      if (outcome === 'malformed')
        throw new HttpError(400, 'malformed bearer credentials', { expose: true, headers: { 'www-authenticate': `${challenge}, error="invalid_request"` } });
      if (this.cfg.mode !== 'basic') challenge += ', error="invalid_token"';
    }
    throw new HttpError(401, 'authentication required', { headers: { 'www-authenticate': challenge } });
  }

  /**
   * overloaded is the answer when max_checks password checks are in flight: 503 with
   * Retry-After (the server's capacity, not this client's rate, as Nginx's limit_req), not
   * counted as a failure; logged at most once a second, with the count, so a flood of
   * guesses does not flood the log too.
   */
  private overloaded(): HttpError {
    this.busy.count++;
    const now = performance.now();
    if (now - this.busy.loggedAt >= 1000) {
      this.log.warn('too many password checks in flight: answering 503', {
        refused: this.busy.count,
        max_checks: this.cfg.max_checks ?? CHECKS_PER_CPU * availableParallelism(),
      });
      this.busy = { count: 0, loggedAt: now };
    }
    return new HttpError(503, 'too many password checks at once', { headers: { 'retry-after': '1' }, logged: true });
  }
}

/** exceptMatcher builds the test for `except`: /x is exact; /x/ and /x* are prefixes. */
function exceptMatcher(paths: readonly string[]): (path: string) => boolean {
  if (paths.length === 0) return () => false;
  const exact = new Set(paths.filter((p) => !p.endsWith('/') && !p.endsWith('*')));
  const prefixes = paths.filter((p) => p.endsWith('/') || p.endsWith('*')).map((p) => p.replace(/\*$/, ''));
  return (path) => exact.has(path) || prefixes.some((p) => path.startsWith(p));
}
