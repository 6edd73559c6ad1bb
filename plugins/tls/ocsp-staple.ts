// A staple and when it is due, without the ASN.1 library (workers read staples, never parse them).

/** Staple is a checked OCSP response for one certificate: what a handshake staples, and when it stops being good. */
export interface Staple {
  /** der is the whole OCSPResponse, as the client receives it. */
  readonly der: Buffer;
  readonly status: 'good' | 'revoked';
  /** thisUpdate, nextUpdate and revokedAt are epoch ms; nextUpdate is absent when the responder gives none. */
  readonly thisUpdate: number;
  readonly nextUpdate?: number;
  readonly revokedAt?: number;
  readonly reason?: string;
}

/** NO_NEXT_UPDATE is how long a response without nextUpdate is used: RFC 6960 leaves it open; an hour, then ask again. */
const NO_NEXT_UPDATE = 3_600_000;

/** goodUntil is when a staple stops being stapled: its nextUpdate, or an hour after thisUpdate when it has none. */
export function goodUntil(s: Pick<Staple, 'thisUpdate' | 'nextUpdate'>): number {
  return s.nextUpdate ?? s.thisUpdate + NO_NEXT_UPDATE;
}

/** refreshAt is when a staple is fetched again: halfway through its validity, as Caddy does. */
export function refreshAt(s: Pick<Staple, 'thisUpdate' | 'nextUpdate'>): number {
  return s.thisUpdate + Math.floor((goodUntil(s) - s.thisUpdate) / 2);
}
