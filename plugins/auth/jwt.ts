import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
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
      if ('file' in src) createLocalJWKSet(JSON.parse(readFileSync(src.file, 'utf8')));
    }
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * JwtVerifier checks a compact JWS: its signature with the configured key and algorithms
 * (`alg: none` is never accepted), then exp, nbf (with leeway), iss and aud.
 */
export class JwtVerifier {
  private constructor(
    private readonly key: Key,
    private readonly cfg: AuthConfig,
    private readonly algorithms: readonly string[],
  ) {}

  /** load reads the key material (a file read; a remote JWKS is fetched on first use and cached). */
  static async load(cfg: AuthConfig, at: Span): Promise<JwtVerifier> {
    let key: Key;
    if (cfg.secret !== undefined) key = new TextEncoder().encode(cfg.secret);
    else if (cfg.public_key) key = createPublicKey(await readFile(cfg.public_key));
    else {
      const src = jwksSource(cfg.jwks!, at);
      key =
        'url' in src
          ? createRemoteJWKSet(src.url, { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 })
          : createLocalJWKSet(JSON.parse(await readFile(src.file, 'utf8')));
    }
    const algorithms = cfg.algorithms ?? JWT_ALGORITHMS.filter((a) => (cfg.secret !== undefined) === HMAC.includes(a));
    return new JwtVerifier(key, cfg, algorithms);
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
    const { payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
    return payload;
  }
}
