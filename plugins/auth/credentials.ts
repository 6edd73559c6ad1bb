import { readFile } from 'node:fs/promises';
import type { HashPool } from './hash-pool.js';
import { checkHash, isSlow, parseHash, parseHtpasswd, sameText, type Hash } from './htpasswd.js';
import { RecentSuccesses } from './recent-successes.js';

/** Presented is what a request's Authorization header holds for one scheme. */
export type Presented<T> = { readonly kind: 'none' } | { readonly kind: 'malformed' } | { readonly kind: 'given'; readonly value: T };

const NONE = { kind: 'none' } as const;
const MALFORMED = { kind: 'malformed' } as const;
// padding optional, as clients differ (Nginx takes both)
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** schemeValue returns the credentials after `SCHEME ` (scheme case-insensitive), or undefined for another scheme or none. */
function schemeValue(header: string | undefined, scheme: string): string | undefined {
  if (!header || header.length <= scheme.length || header[scheme.length] !== ' ') return undefined;
  return header.slice(0, scheme.length).toLowerCase() === scheme ? header.slice(scheme.length + 1).trim() : undefined;
}

/** basicCredentials reads `Basic base64(user:password)`; a bad encoding, no colon, or an empty name is malformed (RFC 7617 allows an empty password). */
export function basicCredentials(header: string | undefined): Presented<{ user: string; password: string }> {
  const b64 = schemeValue(header, 'basic');
  if (b64 === undefined) return NONE;
  if (!b64 || !BASE64.test(b64)) return MALFORMED;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return MALFORMED;
  return { kind: 'given', value: { user: text.slice(0, colon), password: text.slice(colon + 1) } };
}

/** bearerToken reads `Bearer TOKEN` (RFC 6750 token68 characters only). */
export function bearerToken(header: string | undefined): Presented<string> {
  const token = schemeValue(header, 'bearer');
  if (token === undefined) return NONE;
  return /^[A-Za-z0-9\-._~+/]+=*$/.test(token) ? { kind: 'given', value: token } : MALFORMED;
}

/** Verdict is a password check's outcome: it matches or not, or too many checks are in flight to start one. */
export type Verdict = boolean | 'busy';

/**
 * UserStore checks user names and passwords against htpasswd hashes. An unknown user costs
 * as much as a known one (its password is checked against a stand-in hash), so timing does
 * not tell which names exist. Slow hashes (bcrypt, apr1) are checked on the worker threads
 * of a HashPool, at most `maxChecks` at once for this store (beyond that: 'busy'); a success
 * is remembered for a minute (RecentSuccesses), and checks of the same pair at once share one.
 */
export class UserStore {
  private readonly ok = new RecentSuccesses();
  private readonly running = new Map<string, Promise<boolean>>();

  private constructor(
    private readonly users: ReadonlyMap<string, Hash>,
    private readonly standIn: Hash | undefined,
    private readonly pool: HashPool,
    private readonly maxChecks: number,
  ) {}

  /** load reads the users file (if any) and adds the inline users; refused lines are skipped (check reports them). */
  static async load(file: string | undefined, inline: readonly { name: string; hash: string }[], pool: HashPool, maxChecks: number): Promise<UserStore> {
    const users = new Map<string, Hash>();
    if (file) for (const e of parseHtpasswd(await readFile(file, 'utf8'))) if (typeof e.hash !== 'string') users.set(e.user, e.hash);
    for (const u of inline) {
      const h = parseHash(u.hash);
      if (typeof h !== 'string') users.set(u.name, h);
    }
    return new UserStore(users, users.values().next().value, pool, maxChecks);
  }

  /** check tells whether the password is the user's, or 'busy' when the check cannot start now. */
  check(user: string, password: string): Promise<Verdict> {
    const key = this.ok.key(user, password);
    if (this.ok.has(key)) return Promise.resolve(true);
    const same = this.running.get(key);
    if (same) return same;
    const hash = this.users.get(user);
    const against = hash ?? this.standIn;
    if (!against) return Promise.resolve(false);
    if (!isSlow(against)) return Promise.resolve(this.passed(key, checkHash(password, against) && hash !== undefined));
    if (this.running.size >= this.maxChecks) return Promise.resolve('busy');
    const check = this.pool
      .verify(password, against)
      .then((matches) => this.passed(key, matches && hash !== undefined))
      .finally(() => this.running.delete(key));
    this.running.set(key, check);
    return check;
  }

  private passed(key: string, ok: boolean): boolean {
    if (ok) this.ok.add(key);
    return ok;
  }
}

/** TokenList checks bearer tokens, comparing against every configured one in constant time. */
export class TokenList {
  constructor(private readonly tokens: readonly { token: string; name?: string }[]) {}

  /** match returns the token's name ('' when it has none), or undefined when no token matches. */
  match(given: string): string | undefined {
    let found: string | undefined;
    for (const t of this.tokens) if (sameText(given, t.token) && found === undefined) found = t.name ?? '';
    return found;
  }
}
