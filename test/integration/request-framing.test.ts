import assert from 'node:assert/strict';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawRequest } from '../helpers/raw-http.js';
import { echo, send, upstream, waitFor, type TestUpstream } from './proxy-upstreams.js';
import { waitForLog } from './wsgi-gate.js';

const post = (coding: string, body: string, version = '1.1', more = ''): string =>
  `POST /upload HTTP/${version}\r\nHost: x\r\nTransfer-Encoding: ${coding}\r\n${more}\r\n${body}`;

describe('request body framing', () => {
  let gate: TestGate | undefined;
  let up: TestUpstream | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await up?.close();
    up = undefined;
  });
  /** proxied serves /upload by a proxy, behind `middleware` (a limit's body stream, read only once the upstream connects). */
  const proxied = async (middleware = ''): Promise<TestGate> => {
    up = await upstream(echo('up'));
    return (gate = await startGate(`server { listen 127.0.0.1:0; route /upload { ${middleware} proxy ${up.url} { retries 0 } }; respond "fine" }`));
  };

  it('refuses a transfer coding other than a lone chunked with 501 and a closed connection, before any handler', async () => {
    const g = await proxied();
    for (const coding of ['gzip, chunked', 'gzip', 'identity, chunked']) {
      const r = await rawRequest(g.port, post(coding, '5\r\nhello\r\n0\r\n\r\n'));
      assert.deepEqual([r.status, r.closed], [501, true], `${coding}: ${r.text}`);
      assert.match(r.text, /\r\nconnection: close\r\n/i);
    }
    assert.equal(up!.requests, 0, 'nothing went upstream');
    await waitForLog(g.logs, /info refused: unsupported transfer coding 'gzip, chunked' .*status=501/);
    assert.ok(!g.logs.some((l) => / error /.test(l)), g.logs.join('\n'));
    const chunked = await rawRequest(g.port, post('chunked', '5\r\nhello\r\n0\r\n\r\n', '1.1', 'Connection: close\r\n'));
    assert.equal(chunked.status, 200);
    assert.equal(JSON.parse(chunked.text.slice(chunked.text.indexOf('\r\n\r\n') + 4)).body, 'hello', 'a lone chunked body goes through');
  });

  it('refuses Transfer-Encoding in an HTTP/1.0 request with 400 (RFC 9112 6.1)', async () => {
    const g = await proxied();
    const r = await rawRequest(g.port, post('chunked', '5\r\nhello\r\n0\r\n\r\n', '1.0'));
    assert.deepEqual([r.status, r.closed], [400, true]);
    assert.equal(up!.requests, 0);
  });

  for (const middleware of ['', 'limit { body 1KB }'])
    it(`answers a malformed chunked body with 400 and a log line, while the handler that reads it stays silent${middleware && ' (behind a limit)'}`, async () => {
      const g = await proxied(middleware);
      const bodies = {
        HPE_INVALID_CHUNK_SIZE: '10000000000000005\r\nhello\r\n0\r\n\r\n',
        HPE_CR_EXPECTED: '5;a=b\nc\r\nhello\r\n0\r\n\r\n',
        HPE_INVALID_CONTENT_LENGTH: '5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n',
      };
      for (const [reason, body] of Object.entries(bodies)) {
        const r = await rawRequest(g.port, post('chunked', body));
        assert.deepEqual([r.status, r.closed], [400, true], `${reason}: ${r.text}`);
        assert.equal(r.text.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, `one answer: ${r.text}`);
        const id = /request id: (\S+)/.exec(r.text)?.[1];
        await waitForLog(g.logs, new RegExp(`info bad request body request_id=${id} method=POST uri=/upload status=400 reason=${reason}`));
      }
      assert.deepEqual([(await send(g.port, '/')).body], ['fine'], 'still serving');
      await waitFor(() => up!.open.size === 0, 2000, 'the proxy to give up the requests it had begun upstream');
      assert.ok(!g.logs.some((l) => / error /.test(l)), g.logs.join('\n'));
    });

  it('answers 408 to a body still coming past request_timeout, and the handler reading it stops', async () => {
    up = await upstream(echo('up'));
    const g = (gate = await startGate(`global { request_timeout 600ms; header_timeout 300ms }
      server { listen 127.0.0.1:0; proxy ${up.url} { retries 0 } }`));
    const r = await rawRequest(g.port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhe', 3000);
    assert.deepEqual([r.status, r.closed], [408, true], r.text);
    await waitForLog(g.logs, /info request body timed out request_id=\S+ method=POST uri=\/upload status=408 reason=ERR_HTTP_REQUEST_TIMEOUT/);
    await waitFor(() => up!.open.size === 0, 2000, 'the proxy to give up its upstream request');
  });

  it('closes the connection, with no second answer, when the body turns out malformed after the response', async () => {
    gate = await startGate('server { listen 127.0.0.1:0; respond "early" }');
    const r = await rawRequest(gate.port, post('chunked', '5\r\nhello\r\nZZ\r\n'));
    assert.equal(r.closed, true);
    assert.equal(r.text.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, r.text);
  });
});
