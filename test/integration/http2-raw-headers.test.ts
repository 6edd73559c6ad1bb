import assert from 'node:assert/strict';
import { h2Ask } from '../helpers/h2-client.js';
import { h2cApp } from '../helpers/h2c-app.js';

/**
 * APP answers with the request's raw headers as JSON; on /changed it first changes `headers`
 * (Host, Cookie, a field of its own) as a handler may, and reads the raw headers after; on
 * /set it replaces the raw headers and reads them back.
 */
const APP = `export default function (req, res) {
  if (req.url === '/changed') {
    req.headers.host = 'changed.test';
    delete req.headers.cookie;
    req.headers['x-added'] = 'yes';
  }
  if (req.url === '/set') req.rawHeaders = ['x-set', '1'];
  req.resume();
  req.on('end', () => res.end(JSON.stringify(req.rawHeaders)));
}
`;

describe("HTTP/2: a request's raw headers", () => {
  const session = h2cApp(APP);

  const raw = async (path: string, headers: Record<string, string | string[]>, body?: string): Promise<string[]> =>
    JSON.parse((await h2Ask(session(), { method: body === undefined ? 'GET' : 'POST', path, headers, body })).body.toString()) as string[];

  it('read as HTTP/1.1 would send them: Host first, no pseudo-headers, cookies joined', async () => {
    const got = await raw('/', { ':authority': 'a.test', 'x-one': '1', cookie: ['a=1', 'b=2'], 'x-two': '2' });
    assert.deepEqual(got, ['host', 'a.test', 'x-one', '1', 'x-two', '2', 'cookie', 'a=1; b=2']);
  });

  it('name chunked framing for a body of unannounced length, and none for one with a length', async () => {
    assert.deepEqual(await raw('/', { ':authority': 'a.test' }, 'body'), ['host', 'a.test', 'transfer-encoding', 'chunked']);
    assert.deepEqual(await raw('/', { ':authority': 'a.test', 'content-length': '4' }, 'body'), ['host', 'a.test', 'content-length', '4']);
  });

  it('stay as sent when a handler changed the headers before reading them, and take what a handler sets', async () => {
    assert.deepEqual(await raw('/changed', { ':authority': 'a.test', cookie: 'a=1' }), ['host', 'a.test', 'cookie', 'a=1']);
    assert.deepEqual(await raw('/set', { ':authority': 'a.test' }), ['x-set', '1']);
  });
});
