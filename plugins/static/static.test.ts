import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';
import { repoPath } from '../../test/helpers/paths.js';

const SITE = repoPath('plugins', 'static', 'testdata', 'site');

interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** get sends one request with exactly the headers given (no Accept-Encoding added) and reads the whole answer. */
function get(port: number, path: string, headers: OutgoingHttpHeaders = {}, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });
  const serve = async (options = '', route = '/'): Promise<number> => {
    gate = await startGate(`server { listen 127.0.0.1:0; route ${route} { static "${SITE}" { ${options} } } }`);
    return gate.port;
  };

  describe('schema', () => {
    it('reports an unknown option with a suggestion at its position', async () => {
      const [d] = await checkGate(`server { listen 80; static "${SITE}" { idnex a.html } }`);
      assert.equal(d.code, 'GK_DSL_UNKNOWN_OPTION');
      assert.equal(d.span.col, SITE.length + 33);
      assert.equal(d.help, "did you mean 'index'?");
    });
    it('reports a missing root argument and a bad boolean', async () => {
      assert.equal((await checkGate('server { listen 80; static }'))[0].code, 'GK_DSL_MISSING_ARG');
      const [d] = await checkGate(`server { listen 80; static "${SITE}" { browse maybe } }`);
      assert.deepEqual([d.code, d.span.line], ['GK_DSL_BAD_ARG', 1]);
    });
    it('reports a root that does not exist, or is a file, and a fallback outside the root', async () => {
      const [a] = await checkGate('server { listen 80; static ./no-such-folder }', { file: repoPath('t.gate') });
      assert.deepEqual([a.code, a.span.line, a.span.col], ['GK_STATIC_ROOT', 1, 28]);
      const [b] = await checkGate(`server { listen 80; static "${SITE}/hello.txt" }`);
      assert.match(b.message, /is not a folder/);
      const text = `server { listen 80; static "${SITE}" { fallback ../index.html } }`;
      const [c] = await checkGate(text);
      assert.deepEqual([c.code, c.span.col], ['GK_STATIC_FALLBACK', text.indexOf('../index.html') + 1], 'points at the fallback path');
    });
    it('reports a hidden pattern with a slash, and warns that a list shows dotfiles again', async () => {
      const text = `server { listen 80; static "${SITE}" { hidden /private/* } }`;
      const [a, b] = await checkGate(text);
      assert.deepEqual([a.code, a.severity, a.span.col], ['GK_STATIC_HIDDEN', 'error', text.indexOf('/private') + 1]);
      assert.equal(a.help, "write '*' to hide every file or folder of that name");
      assert.deepEqual([b.code, b.severity], ['GK_STATIC_HIDDEN', 'warning']);
      assert.deepEqual(
        (await checkGate(`server { listen 80; static "${SITE}" { hidden .* *.bak } }`)).map((d) => d.code),
        [],
      );
      assert.deepEqual(
        (await checkGate(`server { listen 80; static "${SITE}" { hidden off } }`)).map((d) => d.code),
        [],
      );
    });
    it('resolves a relative root from the .gate file', async () => {
      gate = await startGate('server { listen 127.0.0.1:0; static ./site }', { file: repoPath('plugins', 'static', 'testdata', 't.gate') });
      assert.equal((await get(gate.port, '/hello.txt')).body.toString(), 'hello, static\n');
    });
  });

  describe('methods and files', () => {
    it('serves a file with its type, length and body; HEAD gets the headers only', async () => {
      const port = await serve();
      const a = await get(port, '/hello.txt');
      assert.equal(a.status, 200);
      assert.equal(a.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(a.headers['content-length'], '14');
      assert.equal(a.body.toString(), 'hello, static\n');
      const h = await get(port, '/hello.txt', {}, 'HEAD');
      assert.deepEqual([h.status, h.headers['content-length'], h.headers.etag, h.body.length], [200, '14', a.headers.etag, 0]);
    });
    it('answers other methods with 405 and Allow', async () => {
      const port = await serve();
      for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
        const r = await get(port, '/hello.txt', {}, m);
        assert.deepEqual([r.status, r.headers.allow], [405, 'GET, HEAD'], m);
      }
    });
    it('takes Content-Type from the mime database, with charset=utf-8 for text', async () => {
      const port = await serve();
      const types: Record<string, string> = {
        '/style.css': 'text/css; charset=utf-8',
        '/index.html': 'text/html; charset=utf-8',
        '/data.json': 'application/json; charset=utf-8',
        '/app/app.js': 'text/javascript; charset=utf-8',
        '/img/pixel.png': 'image/png',
        '/blob.unknownext': 'application/octet-stream',
      };
      for (const [path, type] of Object.entries(types)) assert.equal((await get(port, path)).headers['content-type'], type, path);
    });
    it('answers 404 for a missing file and for a file asked as a folder', async () => {
      const port = await serve();
      assert.equal((await get(port, '/nope.txt')).status, 404);
      assert.equal((await get(port, '/hello.txt/')).status, 404);
    });
    it('serves the path after the mount point', async () => {
      const port = await serve('', '/assets/');
      assert.equal((await get(port, '/assets/docs/page.txt')).body.toString(), 'a docs page\n');
      assert.equal((await get(port, '/assets/')).body.toString().includes('<h1>home</h1>'), true);
      assert.equal((await get(port, '/docs/page.txt')).status, 404);
    });
  });

  describe('folders', () => {
    it('serves the index file and redirects a folder without its slash, keeping the query', async () => {
      const port = await serve('', '/assets/');
      const r = await get(port, '/assets/docs?a=1&b=%20');
      assert.deepEqual([r.status, r.headers.location], [301, '/assets/docs/?a=1&b=%20']);
      assert.equal((await get(port, '/assets/docs/')).body.toString(), '<h1>docs</h1>\n');
    });
    it('tries the index files in order', async () => {
      const port = await serve('index missing.html readme.txt');
      assert.equal((await get(port, '/empty/')).body.toString(), 'no index here\n');
    });
    it('refuses a folder without an index when browse is off', async () => {
      const port = await serve();
      assert.equal((await get(port, '/empty/')).status, 403);
    });
    it('lists a folder with browse on: escaped names, sizes and dates, no dotfiles', async () => {
      const port = await serve('browse on; index none.html');
      const r = await get(port, '/');
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      const html = r.body.toString();
      assert.match(html, /<a href="\.\/hello\.txt">hello\.txt<\/a><\/td><td>14<\/td><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<\/td>/);
      assert.match(html, /<a href="\.\/docs\/">docs\/<\/a>/);
      assert.ok(html.indexOf('docs/') < html.indexOf('hello.txt'), 'folders first');
      assert.ok(!html.includes('.env'), 'dotfiles are not listed');
      assert.ok(!html.includes('href="../"'), 'no parent link at the mount point');
      assert.match((await get(port, '/empty/')).body.toString(), /href="\.\.\/"/);
    });
  });

  describe('caching', () => {
    it('sends a strong ETag, Last-Modified and the cache_control option', async () => {
      const port = await serve('cache_control "public, max-age=3600"');
      const r = await get(port, '/style.css');
      assert.match(String(r.headers.etag), /^"[0-9a-f]+-[0-9a-f]+"$/);
      assert.ok(!Number.isNaN(Date.parse(String(r.headers['last-modified']))));
      assert.equal(r.headers['cache-control'], 'public, max-age=3600');
    });
    it('answers 304 to a matching If-None-Match (weak or in a list) and to If-Modified-Since', async () => {
      const port = await serve('cache_control no-cache');
      const { headers } = await get(port, '/style.css');
      const etag = String(headers.etag);
      for (const inm of [etag, `W/${etag}`, `"x", ${etag}`, '*']) {
        const r = await get(port, '/style.css', { 'if-none-match': inm });
        assert.deepEqual([r.status, r.body.length, r.headers.etag, r.headers['cache-control']], [304, 0, etag, 'no-cache'], inm);
      }
      assert.equal((await get(port, '/style.css', { 'if-none-match': '"other"' })).status, 200);
      assert.equal((await get(port, '/style.css', { 'if-modified-since': String(headers['last-modified']) })).status, 304);
      assert.equal((await get(port, '/style.css', { 'if-modified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' })).status, 200);
      for (const bad of ['2099', '2099-01-01', 'Fri, 31 Feb 2099 00:00:00 GMT']) {
        assert.equal((await get(port, '/style.css', { 'if-modified-since': bad })).status, 200, `'${bad}' is no HTTP-date: ignored`);
      }
      // If-None-Match wins over If-Modified-Since
      assert.equal((await get(port, '/style.css', { 'if-none-match': '"other"', 'if-modified-since': String(headers['last-modified']) })).status, 200);
    });
    it('answers 412 when If-Match does not match', async () => {
      const port = await serve();
      assert.equal((await get(port, '/style.css', { 'if-match': '"nope"' })).status, 412);
    });
  });

  describe('ranges', () => {
    // hello.txt is 'hello, static\n' (14 bytes)
    it('answers a single range with 206 and Content-Range', async () => {
      const port = await serve();
      const r = await get(port, '/hello.txt', { range: 'bytes=0-4' });
      assert.deepEqual([r.status, r.headers['content-range'], r.headers['content-length'], r.body.toString()], [206, 'bytes 0-4/14', '5', 'hello']);
      const s = await get(port, '/hello.txt', { range: 'bytes=-7' });
      assert.deepEqual([s.headers['content-range'], s.body.toString()], ['bytes 7-13/14', 'static\n']);
      const o = await get(port, '/hello.txt', { range: 'bytes=7-' });
      assert.equal(o.body.toString(), 'static\n');
      assert.equal((await get(port, '/hello.txt', { range: 'bytes=10-99' })).headers['content-range'], 'bytes 10-13/14');
    });
    it('answers 416 with bytes */size when no range is satisfiable; ignores a malformed Range', async () => {
      const port = await serve();
      const r = await get(port, '/hello.txt', { range: 'bytes=14-20' });
      assert.deepEqual([r.status, r.headers['content-range']], [416, 'bytes */14']);
      for (const bad of ['bytes=5-2', 'items=0-1', 'bytes=a-b', 'bytes=-']) assert.equal((await get(port, '/hello.txt', { range: bad })).status, 200, bad);
      for (const past of ['bytes=14-', 'bytes=100-']) {
        const p = await get(port, '/hello.txt', { range: past });
        assert.deepEqual([p.status, p.headers['content-range']], [416, 'bytes */14'], `${past}: an open range from the end on`);
      }
    });
    it('honours If-Range: the current ETag or date gives 206, an old one the whole file', async () => {
      const port = await serve();
      const { headers } = await get(port, '/hello.txt');
      assert.equal((await get(port, '/hello.txt', { range: 'bytes=0-4', 'if-range': String(headers.etag) })).status, 206);
      assert.equal((await get(port, '/hello.txt', { range: 'bytes=0-4', 'if-range': String(headers['last-modified']) })).status, 206);
      const old = await get(port, '/hello.txt', { range: 'bytes=0-4', 'if-range': '"old"' });
      assert.deepEqual([old.status, old.body.toString()], [200, 'hello, static\n']);
      assert.equal((await get(port, '/hello.txt', { range: 'bytes=0-4', 'if-range': 'Mon, 01 Jan 2001 00:00:00 GMT' })).status, 200);
      const iso = new Date(String(headers['last-modified'])).toISOString();
      assert.equal((await get(port, '/hello.txt', { range: 'bytes=0-4', 'if-range': iso })).status, 200, 'not an HTTP-date: the whole file');
    });
    it('answers several ranges as multipart/byteranges', async () => {
      const port = await serve();
      const r = await get(port, '/hello.txt', { range: 'bytes=0-4, 7-12' });
      assert.equal(r.status, 206);
      const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(String(r.headers['content-type']))?.[1];
      assert.ok(boundary);
      assert.equal(Number(r.headers['content-length']), r.body.length);
      const want =
        `\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-4/14\r\n\r\nhello` +
        `\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 7-12/14\r\n\r\nstatic\r\n--${boundary}--\r\n`;
      assert.equal(r.body.toString(), want);
    });
    it('merges overlapping ranges', async () => {
      const port = await serve();
      const r = await get(port, '/hello.txt', { range: 'bytes=0-4,2-6,0-1' });
      assert.deepEqual([r.status, r.headers['content-range'], r.body.toString()], [206, 'bytes 0-6/14', 'hello, ']);
    });
  });

  describe('precompressed', () => {
    it('serves .br or .gz by Accept-Encoding and preference, with Vary', async () => {
      const { brotliDecompressSync, gunzipSync } = await import('node:zlib');
      const { readFileSync } = await import('node:fs');
      const js = readFileSync(`${SITE}/app/app.js`);
      const port = await serve('precompressed br gzip');
      const br = await get(port, '/app/app.js', { 'accept-encoding': 'gzip, deflate, br' });
      assert.deepEqual(
        [br.headers['content-encoding'], br.headers.vary, br.headers['content-type']],
        ['br', 'Accept-Encoding', 'text/javascript; charset=utf-8'],
      );
      assert.deepEqual(brotliDecompressSync(br.body), js);
      const gz = await get(port, '/app/app.js', { 'accept-encoding': 'gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.deepEqual(gunzipSync(gz.body), js);
      assert.notEqual(gz.headers.etag, br.headers.etag);
      const none = await get(port, '/app/app.js', { 'accept-encoding': 'br;q=0, gzip;q=0' });
      assert.deepEqual([none.headers['content-encoding'], none.headers.vary, none.body.length], [undefined, 'Accept-Encoding', js.length]);
      const plain = await get(port, '/hello.txt', { 'accept-encoding': 'br' });
      assert.deepEqual([plain.headers['content-encoding'], plain.body.toString()], [undefined, 'hello, static\n']);
    });
    it('keeps the configured order of preference', async () => {
      const port = await serve('precompressed gzip br');
      assert.equal((await get(port, '/app/app.js', { 'accept-encoding': 'br, gzip' })).headers['content-encoding'], 'gzip');
    });
    it('sends no Vary when precompressed is off', async () => {
      const port = await serve();
      const r = await get(port, '/app/app.js', { 'accept-encoding': 'br' });
      assert.deepEqual([r.headers['content-encoding'], r.headers.vary], [undefined, undefined]);
    });
  });

  describe('fallback', () => {
    it('serves the fallback file for a missing path (single-page apps)', async () => {
      const port = await serve('fallback /app/index.html', '/spa/');
      const r = await get(port, '/spa/users/42');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(r.body.toString(), /<div id="app">/);
      assert.equal((await get(port, '/spa/hello.txt')).body.toString(), 'hello, static\n');
      assert.equal((await get(port, '/spa/.env')).status, 404, 'hidden files do not fall back');
    });
    it('answers 404 when the fallback file is missing too', async () => {
      const port = await serve('fallback /gone.html');
      assert.equal((await get(port, '/x')).status, 404);
    });
  });
});
