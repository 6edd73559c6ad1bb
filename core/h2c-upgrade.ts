// The HTTP/1.1 `Upgrade: h2c` handshake (RFC 7540 3.2; RFC 9113 dropped it, curl and nghttp
// still send it). The request that asks becomes stream 1 of the HTTP/2 connection, and its
// answer goes there. Node's HTTP/2 server has no way to take a request it did not read as a
// frame, so the handshake gives it one: after the 101, the client's preface and first SETTINGS
// frame go to the server, then the request as a HEADERS frame on stream 1, then the rest of
// what the client sends. The request's fields are encoded as HPACK literals that are never
// indexed, so the client's own header compression, which starts on stream 3, stays in step
// with the server's. HTTP2-Settings is checked but not applied: the client's SETTINGS frame
// says the same (curl, nghttp), and a SETTINGS frame the client did not send would get an
// acknowledgement it does not expect (nghttp2 then fails the connection).

import type { IncomingMessage } from 'node:http';
import type { Http2Server } from 'node:http2';
import type { Duplex } from 'node:stream';
import { PREFACE } from './http2-listener.js';
import { hasBody } from './request-framing.js';

/** FRAME_MAX is the largest frame payload a peer must accept (SETTINGS_MAX_FRAME_SIZE's initial value). */
const FRAME_MAX = 16_384;

/** NOT_FORWARDED are the request fields that describe the HTTP/1.1 connection or the handshake, or become pseudo-fields. */
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  'connection',
  'upgrade',
  'http2-settings',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'host',
  'te',
]);

/**
 * asksForH2c tells whether a request is a well-formed h2c upgrade that the server takes: it
 * names h2c, carries one HTTP2-Settings field in base64url, and has no body (whose upload
 * would then have to finish as HTTP/1.1 first; such a request is served over HTTP/1.1).
 */
export function asksForH2c(req: IncomingMessage): boolean {
  const settings = req.headers['http2-settings'];
  return (
    req.headers.upgrade?.toLowerCase() === 'h2c' &&
    typeof settings === 'string' &&
    /^[A-Za-z0-9_-]*=*$/.test(settings) &&
    settingsPayload(settings).length % 6 === 0 &&
    !hasBody(req)
  );
}

/**
 * upgradeH2c answers an h2c upgrade with 101, then waits for the client's preface and hands
 * the connection to `h2` with the request as stream 1 (see above). A client that sends
 * anything but the preface is disconnected.
 */
export function upgradeH2c(req: IncomingMessage, socket: Duplex, head: Buffer, h2: Http2Server, scheme: string): void {
  socket.on('error', () => socket.destroy());
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
  const injected = Buffer.concat(headerFrames(requestBlock(req, scheme)));
  let got: Buffer = Buffer.alloc(0);
  /** more takes the client's next bytes; true while its preface and first SETTINGS frame are still incomplete. */
  const more = (chunk: Buffer): boolean => {
    got = got.length ? Buffer.concat([got, chunk]) : chunk;
    const n = Math.min(got.length, PREFACE.length);
    if (!got.subarray(0, n).equals(PREFACE.subarray(0, n))) {
      socket.destroy();
      return false;
    }
    const settingsEnd = got.length >= PREFACE.length + 9 ? PREFACE.length + 9 + got.readUIntBE(PREFACE.length, 3) : Infinity;
    if (got.length < settingsEnd) return true;
    if (got[PREFACE.length + 3] !== 0x4) {
      socket.destroy();
      return false;
    } // the preface goes on with SETTINGS (RFC 9113 3.4)
    socket.off('data', onData);
    socket.pause();
    socket.unshift(Buffer.concat([got.subarray(0, settingsEnd), injected, got.subarray(settingsEnd)]));
    h2.emit('connection', socket);
    return false;
  };
  function onData(chunk: Buffer): void {
    more(chunk);
  }
  if (!head.length || more(head)) socket.on('data', onData);
}

/** settingsPayload decodes an HTTP2-Settings value: a SETTINGS frame's payload in base64url. */
function settingsPayload(value: string): Buffer {
  return Buffer.from(value.replace(/=+$/, ''), 'base64url');
}

/** requestBlock encodes the request's fields as an HPACK header block of literals never indexed (RFC 7541 6.2.3). */
function requestBlock(req: IncomingMessage, scheme: string): Buffer {
  const fields: [string, string][] = [
    [':method', req.method ?? 'GET'],
    [':scheme', scheme],
    [':path', req.url ?? '/'],
  ];
  if (req.headers.host !== undefined) fields.push([':authority', req.headers.host]);
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (!NOT_FORWARDED.has(name)) fields.push([name, raw[i + 1]]);
  }
  const parts: Buffer[] = [];
  for (const [name, value] of fields) parts.push(Buffer.of(0x10), hpackString(name), hpackString(value));
  return Buffer.concat(parts);
}

/** hpackString is a string literal without Huffman coding: its length as a 7-bit-prefix integer, then its bytes. */
function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  const len: number[] = [];
  let n = bytes.length;
  if (n < 127) len.push(n);
  else {
    len.push(127);
    for (n -= 127; n >= 128; n >>>= 7) len.push((n & 0x7f) | 0x80);
    len.push(n);
  }
  return Buffer.concat([Buffer.from(len), bytes]);
}

/** headerFrames splits a header block into a HEADERS frame (END_STREAM) and CONTINUATION frames, on stream 1. */
function headerFrames(block: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at === 0 || at < block.length; at += FRAME_MAX) {
    const last = at + FRAME_MAX >= block.length;
    frames.push(frame(at === 0 ? 0x1 : 0x9, (at === 0 ? 0x1 : 0) | (last ? 0x4 : 0), 1, block.subarray(at, at + FRAME_MAX)));
  }
  return frames;
}

/** frame lays out one HTTP/2 frame (RFC 9113 4.1). */
export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
