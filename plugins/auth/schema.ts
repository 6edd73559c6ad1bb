import { arg, directive, type ConfigOf } from '../../core/index.js';

/** JWT_ALGORITHMS are the signature algorithms `auth jwt` may accept (never `none`). */
export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** auth requires credentials: `auth basic { realm "api"; users ./htpasswd }`, `auth bearer { ... }` or `auth jwt { ... }`. */
export const auth = directive({
  name: 'auth',
  kind: 'middleware',
  doc: 'Require credentials: auth basic { realm R; users FILE; user NAME HASH } | auth bearer { token T [NAME] } | auth jwt { secret S | public_key FILE | jwks URL-or-FILE; issuer; audience; leeway }; all take except PATH... and max_failures N; cooldown D',
  schema: {
    args: [arg.enum('mode', { values: ['basic', 'bearer', 'jwt'] })],
    block: 'required',
    options: [
      { name: 'realm', doc: 'The realm named in WWW-Authenticate', default: 'restricted', args: [arg.string('realm')] },
      { name: 'users', doc: 'basic: an htpasswd file (bcrypt $2y$/$2b$, apr1 $apr1$ or SHA1 {SHA} hashes; plain text is refused)', args: [arg.path('file')] },
      {
        name: 'user',
        doc: 'basic: one user and its hash, as an htpasswd line would give them',
        repeatable: true,
        args: [arg.string('name'), arg.string('hash')],
      },
      {
        name: 'token',
        doc: 'bearer: an accepted token (use ${ENV}); NAME becomes $user',
        repeatable: true,
        args: [arg.string('token'), arg.string('name', { optional: true })],
      },
      { name: 'secret', doc: 'jwt: the HMAC secret (HS256/384/512; use ${ENV})', args: [arg.string('secret')] },
      { name: 'public_key', doc: 'jwt: a PEM public key file (RS*, PS*, ES*, EdDSA)', args: [arg.path('file')] },
      { name: 'jwks', doc: 'jwt: a JWKS URL (fetched and cached) or file', args: [arg.string('source')] },
      { name: 'issuer', doc: 'jwt: the required iss claim', args: [arg.string('issuer')] },
      { name: 'audience', doc: 'jwt: accepted aud values (one must match)', args: [arg.string('audience', { variadic: true })] },
      { name: 'leeway', doc: 'jwt: clock skew allowed on exp and nbf', default: '0s', args: [arg.duration('leeway')] },
      {
        name: 'algorithms',
        doc: 'jwt: accepted algorithms (default: the HS* ones for secret, the others for keys)',
        args: [arg.enum('algorithm', { values: JWT_ALGORITHMS, variadic: true })],
      },
      { name: 'user_claim', doc: 'jwt: the claim that becomes $user', default: 'sub', args: [arg.string('claim')] },
      { name: 'except', doc: 'Paths left open: /healthz is exact, /public/ (or /public*) a prefix', args: [arg.string('path', { variadic: true })] },
      {
        name: 'max_failures',
        doc: 'Failed attempts a client may make before it gets 429 for the cooldown (0 = no limit)',
        default: '10',
        args: [arg.int('count', { min: 0 })],
      },
      {
        name: 'max_checks',
        doc: 'basic: slow password checks (bcrypt, apr1) in flight at once, per worker; they run on worker threads, one per CPU, and a success is remembered for a minute; beyond this, 503 with Retry-After (default 4 per CPU)',
        args: [arg.int('count', { min: 1, max: 100000 })],
      },
      { name: 'cooldown', doc: 'How long failures are remembered, and a client over max_failures is refused', default: '1m', args: [arg.duration('cooldown')] },
    ],
  },
});

/** AuthConfig is a checked `auth`. */
export type AuthConfig = ConfigOf<typeof auth>;
