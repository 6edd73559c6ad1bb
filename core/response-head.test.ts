import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { mergeHead } from './response-head.js';

describe('mergeHead', () => {
  it('keeps the headers of writeHead(status, undefined, headers), as Node does (the Python pools call it so)', () => {
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    mergeHead(res, 201, undefined, ['cache-control', 'max-age=60', 'x-a', '1']);
    assert.deepEqual([res.statusCode, res.getHeader('cache-control'), res.getHeader('x-a')], [201, 'max-age=60', '1']);
  });
});
