import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { checkGate, type TestGate } from '../../test/helpers/gate.js';
import { hasPython3, startWsgiGate, waitForLog, WSGI_TESTDATA } from '../../test/integration/wsgi-gate.js';

const FILE = join(WSGI_TESTDATA, 'site.gate');

/** post sends a body in chunks (chunked encoding unless a length is given) and reads the answer. */
function post(url: string, chunks: Buffer[], headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('wsgi', function () {
  this.timeout(15_000);
  let gate: TestGate | undefined;
  // The pools' folders go to a temp folder of the suite's own, which other gatekits on the machine do not share.
  const temp = { dir: '', saved: process.env.TMPDIR };
  before(function () {
    if (!hasPython3()) this.skip(); /* python3 (>= 3.8) is not installed: the wsgi plugin runs real Python processes */
    temp.dir = mkdtempSync(join(tmpdir(), 'gk-wsgi-test-'));
    process.env.TMPDIR = temp.dir;
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
    if (temp.saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = temp.saved;
    if (temp.dir) rmSync(temp.dir, { recursive: true, force: true });
  });

  const start = async (): Promise<TestGate> =>
    (gate ??= await startWsgiGate(
      `server { listen 127.0.0.1:0
      route /app/ { wsgi apps:application { workers 2 } }
      route / { wsgi apps:application }
    }`,
      { file: FILE },
    ));

  it('serves an application, keeping the Python worker between requests', async () => {
    const g = await start();
    const pids = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await fetch(g.url('/pid'));
      assert.equal(res.status, 200);
      pids.add(await res.text());
    }
    assert.equal(pids.size, 1, 'one Python process served every request of a one-worker pool');
    const res = await fetch(g.url('/'));
    assert.equal(await res.text(), 'hello from wsgi\n');
    assert.equal(res.headers.get('content-length'), '16');
  });

  it('builds the PEP 3333 environ, with SCRIPT_NAME from the route mount', async () => {
    const g = await start();
    const res = await fetch(g.url('/app/environ?a=1&b=%20'), {
      method: 'PUT',
      body: 'xyz',
      headers: { 'content-type': 'text/x-test', 'x-custom': 'v1', x_sneaky: 'no', cookie: 'a=1' },
    });
    const env = (await res.json()) as Record<string, unknown>;
    assert.equal(env.REQUEST_METHOD, 'PUT');
    assert.equal(env.SCRIPT_NAME, '/app');
    assert.equal(env.PATH_INFO, '/environ');
    assert.equal(env.QUERY_STRING, 'a=1&b=%20');
    assert.equal(env.CONTENT_TYPE, 'text/x-test');
    assert.equal(env.CONTENT_LENGTH, '3');
    assert.equal(env.HTTP_X_CUSTOM, 'v1');
    assert.equal(env.HTTP_COOKIE, 'a=1');
    assert.equal(env.HTTP_X_SNEAKY, undefined, 'headers with underscores are dropped');
    assert.equal(env.HTTP_CONTENT_TYPE, undefined);
    assert.equal(env.SERVER_NAME, '127.0.0.1');
    assert.equal(env.SERVER_PORT, String(g.port));
    assert.equal(env.SERVER_PROTOCOL, 'HTTP/1.1');
    assert.equal(env.REMOTE_ADDR, '127.0.0.1');
    assert.equal(env['wsgi.url_scheme'], 'http');
    assert.deepEqual(env['wsgi.version'], [1, 0]);
    assert.equal(env['wsgi.multiprocess'], true);
    assert.equal(env['wsgi.multithread'], false);
    assert.equal(env['wsgi.run_once'], false);
    assert.equal(env['wsgi.input'], 'Input');
    assert.equal(env['wsgi.file_wrapper'], 'FileWrapper');
    const root = (await (await fetch(g.url('/environ'))).json()) as Record<string, unknown>;
    assert.deepEqual([root.SCRIPT_NAME, root.PATH_INFO, root['wsgi.multiprocess']], ['', '/environ', false]);
    const utf = await (await fetch(g.url('/app/caf%C3%A9'))).text();
    assert.equal(utf, 'not found: /café', 'PATH_INFO holds the decoded bytes as latin-1');
  });

  it('streams a large upload to wsgi.input, read in pieces or by line', async () => {
    const g = await start();
    const chunk = Buffer.alloc(256 * 1024, 'abcdefghij\n');
    const chunks = Array.from({ length: 64 }, () => chunk); // 16 MiB, sent chunked
    const sha = createHash('sha256');
    for (const c of chunks) sha.update(c);
    const digest = sha.digest('hex');
    const lines = (chunk.toString().match(/\n/g) ?? []).length * 64;
    const a = await post(g.url('/upload'), chunks);
    assert.deepEqual([a.status, a.body.split(' ').slice(0, 2)], [200, [String(16 << 20), digest]]);
    const b = await post(g.url('/upload?lines'), chunks, { 'content-length': String(16 << 20) });
    assert.equal(b.body, `${16 << 20} ${digest} ${lines}`);
  });

  it('streams an iterable response chunk by chunk and always calls close()', async () => {
    const g = await start();
    const res = await fetch(g.url('/stream?chunks=500&size=10000'));
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    assert.equal(body.length, 5_000_000);
    assert.equal(body.subarray(4_990_000, 4_990_008).toString(), '00000499');
    await waitForLog(g.logs, /warn \[wsgi\] iterable closed/);
  });

  it('answers 500 when the app raises, logs the traceback, and keeps the worker', async () => {
    const g = await start();
    const before = await (await fetch(g.url('/pid'))).text();
    const res = await fetch(g.url('/boom'));
    assert.equal(res.status, 500);
    const line = await waitForLog(g.logs, /wsgi application raised/);
    assert.match(line, /Traceback \(most recent call last\).*ZeroDivisionError: boom in the app/);
    assert.equal(await (await fetch(g.url('/pid'))).text(), before);
    const nostart = await fetch(g.url('/nostart'));
    assert.equal(nostart.status, 500);
  });

  it('aborts a response whose iterable fails after the headers went out, still calling close()', async () => {
    const g = await start();
    const closed = g.logs.filter((l) => /iterable closed/.test(l)).length;
    await assert.rejects(async () => {
      const r = await fetch(g.url('/stream?chunks=50&size=100000&fail=20'));
      await r.arrayBuffer();
    });
    await waitForLog(g.logs, /RuntimeError: failed mid-stream at chunk 20/);
    assert.ok(g.logs.filter((l) => /iterable closed/.test(l)).length > closed);
  });

  it('lets start_response replace the headers with exc_info before they are sent', async () => {
    const g = await start();
    const res = await fetch(g.url('/exc_info'));
    assert.deepEqual([res.status, res.statusText, res.headers.get('x-handled'), await res.text()], [503, 'Try Later', 'yes', 'handled\n']);
  });

  it('supports the write() callable, wsgi.file_wrapper and any status and headers', async () => {
    const g = await start();
    assert.equal(await (await fetch(g.url('/write'))).text(), 'one two three\n');
    const file = await fetch(g.url('/file'));
    assert.ok(Buffer.from(await file.arrayBuffer()).equals(readFileSync(join(WSGI_TESTDATA, 'payload.bin'))));
    const h = await fetch(g.url('/headers'));
    assert.deepEqual([h.status, h.statusText, h.headers.getSetCookie(), h.headers.get('x-multi')], [299, 'Custom Reason', ['a=1', 'b=2'], 'x']);
    assert.equal(h.headers.get('connection'), 'keep-alive', 'hop-by-hop headers of the app are dropped');
  });

  it('refuses a header that could split the response (500) or that HTTP forbids (502), every time, with a log line', async () => {
    const g = await start();
    for (let i = 0; i < 2; i++) {
      const crlf = await fetch(g.url('/bad_header?crlf'));
      assert.deepEqual([crlf.status, crlf.headers.get('set-cookie')], [500, null]);
      const name = await fetch(g.url('/bad_header?name'));
      assert.equal(name.status, 502);
      assert.doesNotMatch(await name.text(), /should not be seen/);
    }
    await waitForLog(g.logs, /ValueError: a header value holds a line break/);
    await waitForLog(g.logs, /wsgi application sent an invalid status or header/);
    const list = await fetch(g.url('/bad_header?list'));
    assert.deepEqual([list.status, list.headers.get('x-pair')], [200, 'as a list']);
  });

  it('sends wsgi.errors lines to the error log with the request id', async () => {
    const g = await start();
    assert.equal(await (await fetch(g.url('/errors'))).text(), 'logged');
    await waitForLog(g.logs, /warn \[wsgi\] a line for the log request_id=\w+ pid=\d+/);
    await waitForLog(g.logs, /warn \[wsgi\] and a second one request_id=/);
  });

  it('answers HEAD without a body', async () => {
    const g = await start();
    const res = await fetch(g.url('/'), { method: 'HEAD' });
    assert.deepEqual([res.status, res.headers.get('content-length'), await res.text()], [200, '16', '']);
  });

  it('stops every Python process and removes its sockets on close', async () => {
    const g = await start();
    const pid = Number(await (await fetch(g.url('/pid'))).text());
    // each pool's sockets are in a folder of its own, in the generation's run folder
    const runDirs = (): string[] =>
      readdirSync(tmpdir())
        .filter((d) => d.startsWith('gatekit-run-'))
        .map((d) => join(tmpdir(), d));
    const dirs = (): string[] =>
      runDirs().flatMap((r) =>
        readdirSync(r)
          .filter((d) => d.startsWith('wsgi-'))
          .map((d) => join(r, d)),
      );
    assert.ok(dirs().length >= 2, 'each pool has its socket folder');
    await g.close();
    gate = undefined;
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.deepEqual(dirs(), []);
    assert.deepEqual(runDirs(), [], 'the run folder goes with its generation');
  });

  it('reports a bad application spec and unknown options at their position', async () => {
    const [d] = await checkGate('server { listen 80; wsgi "not a module" }');
    assert.deepEqual([d.code, d.span.line, d.span.col], ['GK_WSGI_APP', 1, 26]);
    const [u] = await checkGate('server { listen 80; wsgi a:b { wrkers 2 } }');
    assert.equal(u.code, 'GK_DSL_UNKNOWN_OPTION');
    assert.equal(u.help, "did you mean 'workers'?");
  });
});
