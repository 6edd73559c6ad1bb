import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { checkedFields, writeCheckedHead } from './checked-fields.js';

/** headOf is the head a response wrote, as Node joined it. */
function headOf(res: ServerResponse): string {
  return (res as unknown as { _header: string })._header;
}

describe('checkedFields', () => {
  it('writes the fields as writeHead would, keeping the fields set before unless replaced', () => {
    const fields = checkedFields([
      ['Content-Type', 'text/plain'],
      ['x-list', ['a', 'b']],
      ['content-length', 2],
    ]);
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    res.setHeader('strict-transport-security', 'max-age=60');
    res.setHeader('content-type', 'text/html');
    writeCheckedHead(res, 203, fields);
    assert.equal(res.statusCode, 203);
    assert.equal(res.getHeader('content-type'), 'text/plain');
    assert.match(
      headOf(res),
      /^HTTP\/1.1 203 .*\r\nstrict-transport-security: max-age=60\r\nContent-Type: text\/plain\r\nx-list: a\r\nx-list: b\r\ncontent-length: 2\r\n/s,
    );
  });

  it('gives each response fields of its own, which a head hook may append to', () => {
    const fields = checkedFields([['vary', 'Cookie']]);
    const first = new ServerResponse(new IncomingMessage(new Socket()));
    assert.ok(fields.setOn(first));
    first.appendHeader('vary', 'Accept-Encoding');
    const second = new ServerResponse(new IncomingMessage(new Socket()));
    writeCheckedHead(second, 200, fields);
    assert.deepEqual([first.getHeader('vary'), second.getHeader('vary')], [['Cookie', 'Accept-Encoding'], 'Cookie']);
  });

  it("refuses what Node's setHeader refuses, when made", () => {
    assert.throws(() => checkedFields([['x-bad', 'a\r\nb']]), { code: 'ERR_INVALID_CHAR' });
    assert.throws(() => checkedFields([['bad name', 'a']]), { code: 'ERR_INVALID_HTTP_TOKEN' });
  });
});
