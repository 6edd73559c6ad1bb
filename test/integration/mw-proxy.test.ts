import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { startGate, type TestGate } from '../helpers/gate.js';
import { httpGet, streamText } from './mw-fixtures.js';

describe('middleware over proxy', () => {
  let gate: TestGate | undefined;
  let upstream: Server | undefined;
  let seen: IncomingHttpHeaders | undefined;
  beforeEach(async () => {
    upstream = createServer((req, res) => {
      seen = req.headers;
      res.writeHead(200, { 'content-type': 'application/json', etag: '"up"' });
      const body = streamText(256 * 1024);
      let i = 0;
      const pump = (): void => {
        while (i < body.length) {
          const ok = res.write(body.subarray(i, i + 8192));
          i += 8192;
          if (!ok) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    }).listen(0, '127.0.0.1');
    await once(upstream, 'listening');
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    upstream?.close();
    upstream?.closeAllConnections();
    upstream = undefined;
  });

  it('compresses a streamed upstream response, and passes the request id and request headers upstream', async function () {
    const port = (upstream!.address() as { port: number }).port;
    try {
      gate = await startGate(`server { listen 127.0.0.1:0
        log { format "$request_id $upstream"; to /dev/null; trust_request_id on }
        compress { gzip }
        headers request { set X-From gatekit }
        proxy http://127.0.0.1:${port}
      }`);
    } catch (e) {
      if (/unknown directive 'proxy'/.test((e as Error).message)) this.skip(); // proxy not built in yet
      throw e;
    }
    const res = await httpGet(gate.url('/x'), { 'accept-encoding': 'gzip', 'x-request-id': 'trace-42' });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers.etag, 'W/"up"');
    assert.ok(gunzipSync(res.body).equals(streamText(256 * 1024)));
    assert.equal(seen?.['x-request-id'], 'trace-42');
    assert.equal(seen?.['x-from'], 'gatekit');
  });
});
