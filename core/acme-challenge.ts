import type { SecureContext, TLSSocket } from 'node:tls';
import type { Ctx } from './context.js';
import type { TlsProvider } from './plugin.js';

/** HTTP01_PATH is where an ACME CA asks for HTTP-01 answers (RFC 8555 8.3). */
export const HTTP01_PATH = '/.well-known/acme-challenge/';

/** ACME_TLS_1 is the ALPN protocol of TLS-ALPN-01 validation (RFC 8737 6.2). */
export const ACME_TLS_1 = 'acme-tls/1';

/**
 * answerHttp01 answers a plain-HTTP request for a pending ACME HTTP-01 challenge with its key
 * authorization, before any route, as Caddy does; it returns false (the request is routed as
 * usual) when no provider has that token pending for the request's host.
 */
export function answerHttp01(ctx: Ctx, providers: readonly TlsProvider[]): boolean {
  if (!ctx.path.startsWith(HTTP01_PATH) || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return false;
  const token = ctx.path.slice(HTTP01_PATH.length);
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return false; // base64url (RFC 8555 8.3): nothing else is a token
  for (const p of providers) {
    const answer = p.http01?.(ctx.host, token);
    if (answer === undefined) continue;
    ctx.log.info('acme http-01 challenge answered', { host: ctx.host, token, remote: ctx.req.socket.remoteAddress });
    void ctx.send(200, answer, { 'content-type': 'application/octet-stream' });
    return true;
  }
  return false;
}

/** TlsAlpn01 picks, for a listener, the certificate of a pending TLS-ALPN-01 challenge. */
export type TlsAlpn01 = (servername: string) => SecureContext | undefined;

const CHALLENGED = Symbol('gatekit.acme-tls-1');
type Marked = TLSSocket & { [CHALLENGED]?: SecureContext };

/** AlpnChoice picks the protocol a handshake gets from those the client offers (undefined: none). */
export type AlpnChoice = (servername: string, offered: readonly string[]) => string | undefined;

/**
 * alpnSelect makes a TLS listener's ALPNCallback: a handshake that offers `acme-tls/1` for a
 * name with a pending challenge gets that protocol (and, in sniContext, the challenge's
 * certificate); any other gets what `choose` picks (h2 or http/1.1).
 * OpenSSL runs the ALPN callback before the certificate callback, both on the socket.
 */
export function alpnSelect(challenge: TlsAlpn01 | undefined, choose: AlpnChoice) {
  return function select(this: Marked, { servername, protocols }: { servername: string; protocols: string[] }): string | undefined {
    if (challenge && protocols.includes(ACME_TLS_1) && servername) {
      const context = challenge(servername.toLowerCase());
      if (context) {
        this[CHALLENGED] = context;
        return ACME_TLS_1;
      }
    }
    return choose(servername ?? '', protocols);
  };
}

/** challengeContext is the challenge certificate alpnSelect chose for a handshake, if it chose one. */
export function challengeContext(socket: unknown): SecureContext | undefined {
  return (socket as Marked | undefined)?.[CHALLENGED];
}
