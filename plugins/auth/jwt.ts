import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { Span } from '../../core/index.js';
import { JWT_ALGORITHMS, type AuthConfig } from './schema.js';

type Key = Uint8Array | KeyObject | JWTVerifyGetKey;

const HMAC = ['HS256', 'HS384', 'HS512'];

/** jwksSource says whether `jwks` names a URL or a file (relative to the config file). */
export function jwksSource(value: string, at: Span): { url: URL } | { file: string } {
  if (/^https?:\/\//i.test(value)) return { url: new URL(value) };
  return { file: isAbsolute(value) ? value : resolve(dirname(at.file), value) };
}

/** checkKeySource reads and parses the key material now, for `gatekit check`; it returns why it is unusable, or undefined. */
export function checkKeySource(cfg: AuthConfig, at: Span): string | undefined {
  try {
    if (cfg.public_key) createPublicKey(readFileSync(cfg.public_key));
    if (cfg.jwks) {
      const src = jwksSource(cfg.jwks, at);
      if ('file' in src) checkJwks(JSON.parse(readFileSync(src.file, 'utf8')));
    }
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** checkJwks throws as jose would on a JSON Web Key Set that is no object with a `keys` list (RFC 7517 5), without loading jose for a check. */
function checkJwks(set: unknown): void {
  const keys = (set as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))) throw new Error('JSON Web Key Set malformed');
}

/**
 * JwtVerifier checks a compact JWS: its signature with the configured key and algorithms
 * (`alg: none` is never accepted), then exp, nbf (with leeway), iss and aud.
 */
export class JwtVerifier {
  private constructor(
    private readonly jose: typeof import('jose'),
    private readonly key: Key,
    private readonly cfg: AuthConfig,
    private readonly algorithms: readonly string[],
  ) {}

  /** load reads the key material (a file read; a remote JWKS is fetched on first use and cached). */
  static async load(cfg: AuthConfig, at: Span): Promise<JwtVerifier> {
    const jose = await import('jose'); // loaded where a jwt login is configured, not by every gatekit
    let key: Key;
    if (cfg.secret !== undefined) key = new TextEncoder().encode(cfg.secret);
    else if (cfg.public_key) key = createPublicKey(await readFile(cfg.public_key));
    else {
      const src = jwksSource(cfg.jwks!, at);
      key =
        'url' in src
          ? jose.createRemoteJWKSet(src.url, { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 })
          : jose.createLocalJWKSet(JSON.parse(await readFile(src.file, 'utf8')));
    }
    const algorithms = cfg.algorithms ?? JWT_ALGORITHMS.filter((a) => (cfg.secret !== undefined) === HMAC.includes(a));
    return new JwtVerifier(jose, key, cfg, algorithms);
  }

  /** verify resolves with the token's claims, or rejects when any check fails. */
  async verify(token: string): Promise<JWTPayload> {
    const options = {
      algorithms: [...this.algorithms],
      clockTolerance: this.cfg.leeway / 1000,
      ...(this.cfg.issuer ? { issuer: this.cfg.issuer } : {}),
      ...(this.cfg.audience ? { audience: this.cfg.audience } : {}),
    };
    const key = this.key;
    const { payload } = typeof key === 'function' ? await this.jose.jwtVerify(token, key, options) : await this.jose.jwtVerify(token, key, options);
    return payload;
  }
}
