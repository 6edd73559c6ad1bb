import assert from 'node:assert/strict';
import { BadResponse, ResponseParser, type UpstreamHead } from './response-parser.js';

interface Parsed {
  heads: UpstreamHead[];
  interim: UpstreamHead[];
  body: string;
  trailers: string[][];
  /** rest is what feed returned once the response was complete (undefined: still going). */
  rest: string | undefined;
  keepAlive: boolean;
  upgraded: boolean;
}

/** parse feeds `pieces` in turn to a parser readied for `method`; `end` then closes the connection. */
function parse(pieces: readonly string[], method = 'GET', end = false): Parsed {
  const out: Parsed = { heads: [], interim: [], body: '', trailers: [], rest: undefined, keepAlive: false, upgraded: false };
  const p = new ResponseParser({
    head: (h) => out.heads.push(h),
    interim: (h) => out.interim.push(h),
    body: (c) => {
      out.body += c.toString('latin1');
    },
    trailers: (raw) => out.trailers.push(raw),
  });
  p.expect(method);
  for (const piece of pieces) {
    const rest = p.feed(Buffer.from(piece, 'latin1'));
    if (rest !== undefined) out.rest = (out.rest ?? '') + rest.toString('latin1');
  }
  if (end && p.end() && out.rest === undefined) out.rest = '';
  out.keepAlive = p.keepAlive;
  out.upgraded = p.upgraded;
  return out;
}

/** everySplit parses `text` cut in two at every byte, and in one-byte pieces, and checks each gives `whole`'s result. */
function everySplit(text: string, method = 'GET'): Parsed {
  const whole = parse([text], method);
  for (let i = 1; i < text.length; i++) assert.deepEqual(parse([text.slice(0, i), text.slice(i)], method), whole, `split at ${i}`);
  assert.deepEqual(parse([...text], method), whole, 'one byte at a time');
  return whole;
}

const bad = (pieces: readonly string[], message: RegExp): void =>
  assert.throws(
    () => parse(pieces),
    (e: unknown) => e instanceof BadResponse && message.test(e.message),
  );

describe('proxy: upstream response parser', () => {
  it('reads a Content-Length body, keeps raw header names, and leaves the connection reusable', () => {
    const r = everySplit('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Two: a\r\nx-two:  b \r\nContent-Length: 5\r\n\r\nhello');
    assert.deepEqual(r.heads, [
      { statusCode: 200, statusMessage: 'OK', rawHeaders: ['Content-Type', 'text/plain', 'X-Two', 'a', 'x-two', 'b', 'Content-Length', '5'] },
    ]);
    assert.deepEqual([r.body, r.rest, r.keepAlive], ['hello', '', true]);
  });

  it('decodes chunked bodies with extensions and trailers, split anywhere', () => {
    const r = everySplit('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA \r\n, world!!!\r\n0\r\nX-Sum: abc\r\nX-More: 1\r\n\r\n');
    assert.deepEqual([r.body, r.trailers, r.rest, r.keepAlive], ['hello, world!!!', [['X-Sum', 'abc', 'X-More', '1']], '', true]);
    const plain = everySplit('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    assert.deepEqual([plain.body, plain.trailers, plain.rest], ['abc', [], '']);
  });

  it('reads no body for HEAD, 204 and 304, whatever the length says', () => {
    assert.deepEqual(everySplit('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', 'HEAD').rest, '');
    assert.deepEqual(everySplit('HTTP/1.1 204 No Content\r\n\r\n').rest, '');
    const notModified = everySplit('HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n');
    assert.deepEqual([notModified.body, notModified.rest, notModified.keepAlive], ['', '', true]);
  });

  it('skips 100 Continue, hands 103 Early Hints over as interim, then reads the real head', () => {
    const r = everySplit('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
    assert.deepEqual([r.heads.map((h) => h.statusCode), r.body], [[201], 'ok']);
    assert.deepEqual(r.interim, [{ statusCode: 103, statusMessage: 'Early Hints', rawHeaders: ['Link', '</a.css>'] }]);
  });

  it('reads a body without length until the connection closes, and does not reuse that connection', () => {
    const going = parse(['HTTP/1.1 200 OK\r\n\r\nsome', ' bytes']);
    assert.deepEqual([going.body, going.rest, going.keepAlive], ['some bytes', undefined, false]);
    assert.deepEqual(parse(['HTTP/1.1 200 OK\r\n\r\nsome'], 'GET', true).rest, '');
    const gzipOnly = parse(['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz'], 'GET', true);
    assert.deepEqual([gzipOnly.body, gzipOnly.rest, gzipOnly.keepAlive], ['xyz', '', false]);
  });

  it('tells when the upstream closed before the response was whole', () => {
    const p = new ResponseParser({ head: () => {}, body: () => {}, trailers: () => {} });
    p.expect('GET');
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    assert.equal(p.end(), false);
    p.expect('GET');
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Le'));
    assert.equal(p.end(), false);
  });

  it('follows Connection and the HTTP version for reuse', () => {
    assert.equal(parse(['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n']).keepAlive, false);
    assert.equal(parse(['HTTP/1.1 200 OK\r\nConnection: x-foo, Close\r\nContent-Length: 0\r\n\r\n']).keepAlive, false);
    assert.equal(parse(['HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n']).keepAlive, false);
    assert.equal(parse(['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n']).keepAlive, true);
  });

  it('hands the bytes after a 101 to the new protocol', () => {
    const r = everySplit('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi');
    assert.deepEqual([r.upgraded, r.heads[0].statusCode, r.rest, r.body], [true, 101, '\x81\x02hi', '']);
  });

  it('returns bytes past the end of the response (which the exchange will not trust)', () => {
    assert.equal(parse(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200']).rest, 'HTTP/1.1 200');
  });

  it('reads a response framed both ways as chunked, and refuses to reuse its connection', () => {
    const r = parse(['HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n']);
    assert.deepEqual([r.body, r.rest, r.keepAlive], ['ok', '', false]);
  });

  it('accepts repeated equal Content-Lengths and refuses differing ones', () => {
    assert.equal(parse(['HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok']).body, 'ok');
    bad(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok'], /invalid Content-Length/);
    bad(['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'], /invalid Content-Length/);
    bad(['HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n'], /invalid Content-Length/);
  });

  it('refuses malformed status lines, header lines, bytes and chunk framing', () => {
    bad(['HTTP/2 200 OK\r\n\r\n'], /malformed status line/);
    bad(['ICY 200 OK\r\n\r\n'], /malformed status line/);
    bad(['HTTP/1.1 20 OK\r\n\r\n'], /malformed status line/);
    bad(['HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n'], /malformed header line/);
    bad(['HTTP/1.1 200 OK\r\nSpace Before : x\r\n\r\n'], /malformed header line/);
    bad(['HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n'], /malformed header line/);
    bad(['HTTP/1.1 200 OK\r\nA: x\ny\r\n\r\n'], /bare LF/);
    bad(['HTTP/1.1 200 OK\r\nA: x\0y\r\n\r\n'], /control character/);
    bad(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'], /chunk size/);
    bad(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX'], /no CRLF after chunk data/);
    bad(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abc\r\n'], /chunk size/);
    bad(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer\r\n\r\n'], /malformed trailer line/);
  });

  it('refuses a head larger than 64 KiB, even one that never ends', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}`;
    bad([big], /larger than/);
    bad([`${big}\r\n\r\n`], /larger than/);
  });

  it('parses the next response after expect(), on a reused connection', () => {
    const heads: number[] = [];
    const p = new ResponseParser({ head: (h) => heads.push(h.statusCode), body: () => {}, trailers: () => {} });
    p.expect('GET');
    assert.equal(p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na'))?.length, 0);
    p.expect('HEAD');
    assert.equal(p.feed(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n'))?.length, 0);
    assert.deepEqual(heads, [200, 404]);
  });
});
