import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';
import { rawRequest } from '../../test/helpers/raw-http.js';
import { httpGet, MwTestPlugin, openSocket } from '../../test/integration/mw-fixtures.js';
import { escapeValue } from './format.js';

const plugins = [MwTestPlugin];

describe('log', () => {
  let gate: TestGate | undefined;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-log-'));
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** lines closes the gate (which flushes the log) and returns the file's lines. */
  const lines = async (file = join(dir, 'access.log')): Promise<string[]> => {
    await gate?.close();
    gate = undefined;
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  };

  it('writes combined lines by default, with status, body bytes, referer and user agent', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; log { to ${dir}/access.log }; respond 201 "hello" }`);
    await fetch(gate.url('/a%20b?x=1'), { headers: { referer: 'http://r.test/', 'user-agent': 'tester "quoted"' } });
    const [line] = await lines();
    assert.match(
      line,
      /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/a%20b\?x=1 HTTP\/1\.1" 201 5 "http:\/\/r\.test\/" "tester \\x22quoted\\x22"$/,
    );
  });

  it('writes common and json formats, and custom templates with request variables', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /c { log { format common; to ${dir}/c.log }; respond "c" }
      route /j { log { format json; to ${dir}/j.log }; respond 404 "nope" }
      route /t { log { format "$method $path $status $bytes $duration $request_id $arg_q $user"; to ${dir}/t.log }; respond "tee" }
    }`);
    await fetch(gate.url('/c'));
    await fetch(gate.url('/j?k=v'), { headers: { 'user-agent': 'ua' } });
    await fetch(gate.url('/t?q=42'));
    await gate.close();
    assert.match(readFileSync(join(dir, 'c.log'), 'utf8'), /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/c HTTP\/1\.1" 200 1\n$/);
    const j = JSON.parse(readFileSync(join(dir, 'j.log'), 'utf8'));
    assert.deepEqual(
      [j.method, j.uri, j.status, j.bytes, j.user_agent, typeof j.duration, typeof j.request_id],
      ['GET', '/j?k=v', 404, 4, 'ua', 'number', 'string'],
    );
    assert.match(readFileSync(join(dir, 't.log'), 'utf8'), /^GET \/t 200 3 \d+\.\d{3} [0-9a-f]{20} 42 -\n$/);
  });

  it('counts the compressed bytes when compress sits inside it', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; log { format "$status $bytes"; to ${dir}/access.log }; compress; stream_body 100KB 16KB }`, {
      plugins,
    });
    const res = await httpGet(gate.url('/'), { 'accept-encoding': 'gzip' });
    assert.equal(gunzipSync(res.body).length, 100 * 1024);
    assert.deepEqual(await lines(), [`200 ${res.body.length}`]);
  });

  it('gives each request an X-Request-ID that handlers see, trusting the client only when told to', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0
      route /trust/ { log { format "$request_id"; to ${dir}/access.log; trust_request_id on }; echo_headers }
      route /plain/ { log { format "$request_id"; to ${dir}/access.log }; echo_headers }
    }`,
      { plugins },
    );
    const seen = async (path: string, id?: string): Promise<{ headers: Record<string, string>; raw: string[] }> =>
      (await fetch(gate!.url(path), { headers: id ? { 'x-request-id': id } : {} })).json() as never;
    const trusted = await seen('/trust/', 'abc-123');
    assert.equal(trusted.headers['x-request-id'], 'abc-123');
    const insane = await seen('/trust/', 'bad id "with" spaces');
    assert.match(insane.headers['x-request-id'], /^[0-9a-f]{20}$/);
    const untrusted = await seen('/plain/', 'abc-123');
    assert.match(untrusted.headers['x-request-id'], /^[0-9a-f]{20}$/);
    assert.equal(untrusted.raw.filter((h) => h.toLowerCase() === 'x-request-id').length, 1, 'rawHeaders carry one X-Request-ID');
    assert.equal(untrusted.raw[untrusted.raw.findIndex((h) => h.toLowerCase() === 'x-request-id') + 1], untrusted.headers['x-request-id']);
    assert.deepEqual(await lines(), ['abc-123', insane.headers['x-request-id'], untrusted.headers['x-request-id']]);
  });

  it('keeps the order in which requests finished when several log directives share a file', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /a { log { format "$path $arg_n"; to ${dir}/access.log }; respond "a" }
      route /b { log { format "$path $arg_n"; to ${dir}/access.log }; respond "b" }
    }`);
    const sent: string[] = [];
    for (let n = 0; n < 40; n++) {
      const path = n % 2 ? '/b' : '/a';
      await (await fetch(gate.url(`${path}?n=${n}`))).text();
      sent.push(`${path} ${n}`);
    }
    const fds = readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === join(dir, 'access.log');
      } catch {
        return false;
      }
    });
    assert.equal(fds.length, 1, 'one descriptor for the shared file');
    assert.deepEqual(await lines(), sent);
  });

  it('logs 499 when the client leaves first, and an upgraded connection as 101 when it closes', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0; log { format "$status $path"; to ${dir}/access.log }
      route /slow { stream_body 64MB 1MB text/plain }
      route /ws { echo_upgrade }
    }`,
      { plugins },
    );
    await rawRequest(gate.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', 50);
    const ws = await openSocket(gate.port);
    ws.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nhi');
    let echoed = '';
    ws.on('data', (c: Buffer) => {
      echoed += c.toString();
      if (echoed.endsWith('hi')) ws.end();
    });
    await once(ws, 'close');
    assert.match(echoed, /^HTTP\/1\.1 101/);
    const got = await lines();
    assert.deepEqual(got.sort(), ['101 /ws', '499 /slow']);
  });

  it('escapes what could forge a line', () => {
    assert.equal(escapeValue('a\nb"c\\d\u00e9'), 'a\\x0Ab\\x22c\\x5Cd\\xC3\\xA9');
    assert.equal(escapeValue('plain /path?x=1'), 'plain /path?x=1');
  });

  it('reports an unwritable target and an unknown variable at check', async () => {
    const [a] = await checkGate('server { listen 80; log { to /nonexistent-dir/x/access.log }; respond "x" }');
    assert.deepEqual([a.code, a.span.line, a.span.col], ['GK_LOG_TARGET', 1, 30]);
    const [b] = await checkGate('server { listen 80; log { format "$status $bytse" }; respond "x" }');
    assert.deepEqual([b.code, b.span.col, b.help], ['GK_DSL_UNKNOWN_VARIABLE', 43, "did you mean '$bytes'?"]);
  });

  it('releases its file on close (a closed gate leaves nothing running)', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; log { to ${dir}/access.log }; respond "x" }`);
    await fetch(gate.url('/'));
    await gate.gate.close(100);
    await gate.gate.close(100);
    assert.equal((await lines()).length, 1);
  });
});
