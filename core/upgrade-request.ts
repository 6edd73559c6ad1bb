import { IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** ASKED holds what Node's parser assigned to `upgrade`: true when the request asked to switch protocols. */
const ASKED = Symbol('gatekit.upgradeAsked');
/** GRANTED caches the decision, made once per request that asked. */
const GRANTED = Symbol('gatekit.upgradeGranted');

type Gated = IncomingMessage & { upgrade: boolean; [ASKED]?: boolean | null; [GRANTED]?: boolean };

/** UpgradeDecision tells whether the handler a request goes to takes over the protocol it asks for. */
export type UpgradeDecision = (req: IncomingMessage) => boolean;

/**
 * upgradeGate makes the IncomingMessage class of one listener, whose requests are upgrades
 * only when `takes` says so. Node reads `req.upgrade` once the head is parsed: true hands the
 * bytes after the head, unparsed, to the 'upgrade' event; false parses a body framed as
 * HTTP/1.1 frames it (Content-Length or chunked) and emits an ordinary request. Left to Node,
 * any Upgrade header is an upgrade, and a body sent with `Upgrade: h2c` would leave the
 * request framing behind. CONNECT keeps Node's own handling.
 */
export function upgradeGate(takes: UpgradeDecision): typeof IncomingMessage {
  class GatedMessage extends IncomingMessage {}
  // an accessor, where IncomingMessage has a plain property: Node assigns it (the parser's
  // flag, then its own check) and reads it back; a setter cannot use class fields, which
  // do not exist yet when IncomingMessage's constructor first assigns it
  Object.defineProperty(GatedMessage.prototype, 'upgrade', {
    get(this: Gated): boolean {
      if (this[ASKED] !== true) return false;
      if (this.method === 'CONNECT') return true;
      return (this[GRANTED] ??= takes(this));
    },
    set(this: Gated, v: boolean | null) {
      this[ASKED] = v;
    },
  });
  return GatedMessage;
}

/** servedPlain tells whether a request asked to switch protocols and is served as an ordinary request instead. */
export function servedPlain(req: IncomingMessage): boolean {
  const r = req as Gated;
  return r[ASKED] === true && !r.upgrade;
}

/** LAST_SERVED marks a connection whose last request was served by servePlain. */
const LAST_SERVED = Symbol('gatekit.lastServed');

/**
 * servePlain makes a request that asked to switch protocols, served as an ordinary one, the
 * last on its connection: Node's parser stops at its end as at an upgrade, and drops what
 * followed in the same read, so the requests after it cannot be framed safely. Those it
 * parses later are not served (afterLastServed), and the connection closes after this answer.
 */
export function servePlain(req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
  (req.socket as Marked)[LAST_SERVED] = true;
}

/** afterLastServed tells whether a request came after one servePlain served on the same connection. */
export function afterLastServed(req: IncomingMessage): boolean {
  // HTTP/2 has no upgrade (and its socket is a view made on first use): only HTTP/1.x is marked
  return req.httpVersionMajor === 1 && (req.socket as Marked)[LAST_SERVED] === true;
}

type Marked = Socket & { [LAST_SERVED]?: boolean };
