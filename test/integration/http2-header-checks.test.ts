import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGate, type TestGate } from '../helpers/gate.js';
import { h1Ask, h2Ask, h2Session } from '../helpers/h2-client.js';

/** APP sets the header named by ?n= to the value ?v= and answers what setHeader threw, or 'ok' and what getHeader reads; /no-date and /own-date send no Date, or their own. */
const APP = `export default function (req, res) {
  if (req.url === '/no-date') {
    res.sendDate = false;
    return res.end('none');
  }
  if (req.url === '/own-date') {
    res.setHeader('Date', 'Tue, 01 Jan 2030 00:00:00 GMT');
    return res.end('own');
  }
  const q = new URL(req.url, 'http://x').searchParams;
  let said;
  try {
    res.setHeader(q.get('n'), q.get('v'));
    said = 'ok ' + res.getHeader(q.get('n').toLowerCase());
  } catch (e) {
    said = e.code;
  }
  res.end(said);
}
`;

describe('HTTP/2: header fields are checked on every response, as over HTTP/1.1', () => {
  let dir: string;
  let gate: TestGate | undefined;
  let session: ClientHttp2Session | undefined;
  let origin: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gk-h2fields-'));
    writeFileSync(join(dir, 'app.mjs'), APP);
    gate = await startGate(`server { listen 127.0.0.1:0 h2c; app ${join(dir, 'app.mjs')} }`);
    origin = `http://127.0.0.1:${gate.port}`;
    session = await h2Session(origin);
  });
  after(async () => {
    session?.close();
    await gate?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = (name: string, value: string): string => `/?n=${encodeURIComponent(name)}&v=${encodeURIComponent(value)}`;

  // a name or value once found valid does not make a later bad one pass
  const cases: [string, string, string][] = [
    ['X-Seen', 'fine', 'ok fine'],
    ['X-Seen', 'fine', 'ok fine'],
    ['X-Seen', 'bad\r\nx-injected: 1', 'ERR_INVALID_CHAR'],
    ['X-Seen', 'fine again', 'ok fine again'],
    ['X-Seen', 'bad\0', 'ERR_INVALID_CHAR'],
    ['x seen', 'fine', 'ERR_INVALID_HTTP_TOKEN'],
    ['x seen', 'fine', 'ERR_INVALID_HTTP_TOKEN'],
  ];

  it("sends the current Date, none when the handler turns it off, and the handler's own", async () => {
    const now = await h2Ask(session!, { path: ask('x-a', 'b') });
    const sent = Date.parse(String(now.headers.date));
    assert.match(String(now.headers.date), /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
    assert.ok(Math.abs(sent - Date.now()) < 5000, String(now.headers.date));
    assert.equal((await h2Ask(session!, { path: '/no-date' })).headers.date, undefined);
    assert.equal((await h2Ask(session!, { path: '/own-date' })).headers.date, 'Tue, 01 Jan 2030 00:00:00 GMT');
  });

  it('refuses a bad value for a name set before with good ones, and a bad name each time', async () => {
    for (const [name, value, want] of cases) {
      const over2 = await h2Ask(session!, { path: ask(name, value) });
      const over1 = await h1Ask(origin, { path: ask(name, value) });
      assert.equal(over2.body.toString(), want, `${name}: ${JSON.stringify(value)} over HTTP/2`);
      assert.equal(over1.body.toString(), want, `${name}: ${JSON.stringify(value)} over HTTP/1.1`);
      assert.equal(over2.headers['x-injected'], undefined);
    }
  });
});
