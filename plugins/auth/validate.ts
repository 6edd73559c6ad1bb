import { readFileSync } from 'node:fs';
import { diagnostic, spanOf, type Diagnostic, type Span } from '../../core/index.js';
import { parseHash, parseHtpasswd } from './htpasswd.js';
import { checkKeySource } from './jwt.js';
import type { AuthConfig } from './schema.js';

type Mode = 'basic' | 'bearer' | 'jwt';

/** MODE_OPTIONS lists the options that belong to one mode only. */
const MODE_OPTIONS: Record<Mode, readonly string[]> = {
  basic: ['users', 'user', 'max_checks'],
  bearer: ['token'],
  jwt: ['secret', 'public_key', 'jwks', 'issuer', 'audience', 'leeway', 'algorithms', 'user_claim'],
};

/** validateAuth reports what the schema cannot: options of another mode (written ones: defaults fill the rest), missing or unusable credentials. */
export function validateAuth(cfg: AuthConfig, at: Span): Diagnostic[] {
  const mode = cfg.mode as Mode;
  const out: Diagnostic[] = [];
  for (const [m, names] of Object.entries(MODE_OPTIONS)) {
    if (m === mode) continue;
    for (const n of names)
      if (spanOf(cfg, n))
        out.push(diagnostic('GK_AUTH_OPTION', `option '${n}' does not apply to 'auth ${mode}'`, spanOf(cfg, n) ?? at, `'${n}' belongs to 'auth ${m}'`));
  }
  if (mode === 'basic') out.push(...basic(cfg, at));
  else if (mode === 'bearer') out.push(...bearer(cfg, at));
  else out.push(...jwt(cfg, at));
  return out;
}

function basic(cfg: AuthConfig, at: Span): Diagnostic[] {
  if (!cfg.users && !cfg.user?.length)
    return [diagnostic('GK_AUTH_NO_CREDENTIALS', "'auth basic' has no users", at, 'add users FILE (an htpasswd file) or user NAME HASH')];
  const out: Diagnostic[] = [];
  if (cfg.users) {
    let text: string | undefined;
    try {
      text = readFileSync(cfg.users, 'utf8');
    } catch (e) {
      out.push(
        diagnostic(
          'GK_AUTH_USERS',
          `cannot read users file '${cfg.users}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          spanOf(cfg, 'users') ?? at,
          'give an htpasswd file gatekit can read',
        ),
      );
    }
    for (const e of text === undefined ? [] : parseHtpasswd(text)) {
      if (typeof e.hash === 'string')
        out.push(
          diagnostic(
            'GK_AUTH_BAD_HASH',
            `refused ${e.user ? `user '${e.user}'` : 'a line'} at ${cfg.users}:${e.line}: ${e.hash}`,
            spanOf(cfg, 'users') ?? at,
            'hash passwords with htpasswd -B (bcrypt)',
          ),
        );
    }
  }
  for (const u of cfg.user ?? []) {
    const h = parseHash(u.hash);
    if (typeof h === 'string')
      out.push(diagnostic('GK_AUTH_BAD_HASH', `refused user '${u.name}': ${h}`, spanOf(u, 'hash') ?? at, 'hash passwords with htpasswd -B (bcrypt)'));
  }
  return out;
}

function bearer(cfg: AuthConfig, at: Span): Diagnostic[] {
  if (!cfg.token?.length) return [diagnostic('GK_AUTH_NO_CREDENTIALS', "'auth bearer' has no tokens", at, 'add token ${API_TOKEN}')];
  const weak = cfg.token.findIndex((t) => t.token.length < 16);
  return weak >= 0
    ? [
        diagnostic(
          'GK_AUTH_WEAK_TOKEN',
          'a bearer token is shorter than 16 characters',
          spanOf(cfg.token, weak) ?? at,
          'use a long random token, e.g. from openssl rand -hex 32',
        ),
      ]
    : [];
}

function jwt(cfg: AuthConfig, at: Span): Diagnostic[] {
  const sources = ['secret', 'public_key', 'jwks'].filter((k) => k in cfg);
  if (sources.length !== 1) {
    return [
      diagnostic(
        'GK_AUTH_JWT_KEY',
        sources.length ? `'auth jwt' takes one of ${sources.map((s) => `'${s}'`).join(', ')}, not several` : "'auth jwt' has no key",
        spanOf(cfg, sources[1] ?? '') ?? at,
        'give exactly one of secret, public_key or jwks',
      ),
    ];
  }
  if (cfg.secret !== undefined && Buffer.byteLength(cfg.secret) < 32) {
    return [
      diagnostic(
        'GK_AUTH_JWT_KEY',
        'the jwt secret is shorter than 32 bytes',
        spanOf(cfg, 'secret') ?? at,
        'HS256 needs at least 256 bits of secret: openssl rand -base64 48',
      ),
    ];
  }
  const hmac = cfg.algorithms?.filter((a) => a.startsWith('HS')) ?? [];
  if (cfg.algorithms && (cfg.secret !== undefined ? hmac.length !== cfg.algorithms.length : hmac.length > 0)) {
    return [
      diagnostic(
        'GK_AUTH_JWT_ALG',
        cfg.secret !== undefined ? 'a secret signs HS* tokens only' : 'HS* algorithms need a secret, not a public key',
        spanOf(cfg, 'algorithms') ?? at,
        'list algorithms that match the key',
      ),
    ];
  }
  const problem = checkKeySource(cfg, at);
  return problem ? [diagnostic('GK_AUTH_JWT_KEY', `cannot use the jwt key: ${problem}`, at, 'give a PEM public key file or a JWKS (URL or JSON file)')] : [];
}
