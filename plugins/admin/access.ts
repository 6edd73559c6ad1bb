import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Address } from '../../core/index.js';

/** isLoopback tells whether an admin address is reachable from this host only: a unix socket or a loopback IP. */
export function isLoopback(a: Address): boolean {
  if (a.kind === 'unix') return true;
  const host = a.host?.replace(/^\[(.*)\]$/, '$1');
  if (host === undefined) return false; // a bare port: every interface
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** TokenCheck compares a request's bearer token with the configured one in constant time. */
export class TokenCheck {
  private readonly digest: Buffer | undefined;

  constructor(token: string | undefined) {
    this.digest = token === undefined ? undefined : sha256(token);
  }

  /** allows tells whether a request may use the API: no token configured, or `Authorization: Bearer` with the right one. */
  allows(req: IncomingMessage): boolean {
    return this.digest === undefined || this.matches(/^Bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1]);
  }

  /** matches compares a token (from a header or a WebSocket's first message); hashing first makes the lengths equal. */
  matches(token: string | undefined): boolean {
    if (this.digest === undefined) return true;
    return token !== undefined && timingSafeEqual(sha256(token), this.digest);
  }

  /** required tells whether a token is configured. */
  get required(): boolean {
    return this.digest !== undefined;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * sameOrigin tells whether a request may change something or open the live feed, as far as
 * browsers go (CSRF): it carries no Origin (not a browser page's script), or one whose host is
 * the admin's own. A page elsewhere can make a browser send a request, but not lie about Origin.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** isJson tells whether a request's body is declared JSON (a cross-site form cannot send that without a preflight). */
export function isJson(req: IncomingMessage): boolean {
  return /^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '');
}
