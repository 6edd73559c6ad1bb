import assert from 'node:assert/strict';
import { h2Ask } from '../helpers/h2-client.js';
import { h2cApp } from '../helpers/h2c-app.js';

/**
 * APP: /listen waits for the 'end' of a GET it never reads; /ends says how many came;
 * /cut destroys the request with an error nobody listens for; /heard with one it hears.
 */
const APP = `let ends = 0;
export default function (req, res) {
  if (req.url === '/listen') {
    req.on('end', () => { ends += 1; });
    res.end('listening');
  } else if (req.url === '/ends') {
    res.end(String(ends));
  } else if (req.url === '/cut') {
    req.destroy(new Error('cut by the app'));
    res.end('cut');
  } else if (req.url === '/heard') {
    req.on('error', (e) => res.end('heard ' + e.message));
    req.destroy(new Error('boom'));
  } else res.end(String(req.readableEnded));
}
`;

describe('HTTP/2: the request of a stream with no body', () => {
  const session = h2cApp(APP);

  const body = async (path: string): Promise<string> => (await h2Ask(session(), { path })).body.toString();

  it("emits 'end' to a listener that never reads it, as over HTTP/1.1", async () => {
    const before = Number(await body('/ends'));
    assert.equal(await body('/listen'), 'listening');
    assert.equal(await body('/listen'), 'listening');
    // the ends come once the streams closed: ask until both are counted (bounded by the test timeout)
    while (Number(await body('/ends')) < before + 2);
    assert.equal(Number(await body('/ends')), before + 2);
  });

  it('passes an error to a listener, and keeps the process when nobody listens', async () => {
    assert.equal(await body('/cut'), 'cut');
    assert.equal(await body('/heard'), 'heard boom');
    assert.equal(await body('/other'), 'false');
  });
});
