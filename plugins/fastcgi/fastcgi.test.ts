import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { checkGate, startGate, type TestGate } from '../../test/helpers/gate.js';
import { repoPath } from '../../test/helpers/paths.js';
import { rawGet, rawRequest } from '../../test/helpers/raw-http.js';
import { FASTCGI_FILE, fastcgiConfig, PHP_FPM, SKIP_REASON, startPhpFpm, type PhpFpm } from '../../test/integration/fastcgi-fixtures.js';
import { ConnPool } from './pool.js';
import { beginRequest, decodeParams, encodeParams, RecordReader, RecordType, requestHead, stream } from './protocol.js';
import { CgiHeadParser as HeadParser, parseCgiHead as parseHead } from '../../lib/cgi-response.js';
import { splitPath } from './script.js';

const FILE = repoPath('plugins', 'fastcgi', 'testdata', 't.gate');
const codes = async (text: string): Promise<string[]> => (await checkGate(text, { file: FILE })).map((d) => `${d.code} ${d.span.line}:${d.span.col}`);

describe('fastcgi schema and validation', () => {
  it('checks clean with every option', async () => {
    assert.deepEqual(
      await codes(`server { listen 80; route /php/ { fastcgi unix:/run/php/php-fpm.sock {
      root ./www; index app.php; split_path .php; param APP_ENV prod; param APP_URI $uri; pass_auth off
      keepalive 2; keepalive_timeout 1s; connect_timeout 1s; read_timeout 30s; send_timeout 30s } }
      route /tcp/ { fastcgi 127.0.0.1:9000 { root ./www } } }`),
      [],
    );
  });

  it('requires root and reports a bad address at its position', async () => {
    assert.deepEqual(await codes('server { listen 80\n  fastcgi unix:/x.sock { index a.php } }'), ['GK_DSL_MISSING_OPTION 2:3']);
    const [d] = await checkGate('server { listen 80; fastcgi http://x { root ./www } }', { file: FILE });
    assert.deepEqual([d.code, d.span.col], ['GK_DSL_BAD_ARG', 29]);
  });

  it('reports a missing root folder, a bad split_path or index, and HTTP_PROXY', async () => {
    assert.deepEqual(await codes('server { listen 80; fastcgi :9000 { root ./nope; split_path php; index a/b.php; param HTTP_PROXY x } }'), [
      'GK_FASTCGI_ROOT 1:42',
      'GK_FASTCGI_SPLIT_PATH 1:61',
      'GK_FASTCGI_INDEX 1:72',
      'GK_FASTCGI_HTTPOXY 1:81',
    ]);
  });
});

describe('fastcgi records', () => {
  it('encodes name-value pairs with 1-byte lengths below 128 and 4-byte ones above', () => {
    const long = 'v'.repeat(200);
    const buf = encodeParams({ A: 'b', [`N${'x'.repeat(130)}`]: long });
    assert.deepEqual([...buf.subarray(0, 4)], [1, 1, 65, 98]);
    assert.deepEqual([...buf.subarray(4, 12)], [0x80, 0, 0, 131, 0x80, 0, 0, 200]);
    assert.deepEqual(decodeParams(buf), { A: 'b', [`N${'x'.repeat(130)}`]: long });
  });

  it('frames BEGIN_REQUEST with the responder role and FCGI_KEEP_CONN', () => {
    assert.deepEqual([...beginRequest(true)], [1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    assert.equal(beginRequest(false)[10], 0);
  });

  it('splits a long stream into 65535-byte records and reads them back across chunk borders', () => {
    const data = Buffer.alloc(70_000, 7);
    const wire = Buffer.concat([stream(RecordType.Stdout, data), stream(RecordType.Stdout, Buffer.alloc(0))]);
    const r = new RecordReader();
    const got = [...r.push(wire.subarray(0, 5)), ...r.push(wire.subarray(5, 65_600)), ...r.push(wire.subarray(65_600))];
    assert.deepEqual(
      got.map((x) => x.content.length),
      [65_535, 4465, 0],
    );
    assert.equal(r.partial, false);
  });

  it('frames a request start in one buffer: BEGIN_REQUEST, PARAMS and its end, then STDIN and its end when the body is known', () => {
    const kinds = (buf: Buffer): string[] => new RecordReader().push(buf).map((r) => `${r.type}:${r.content.length}`);
    const params = encodeParams({ A: 'b' });
    assert.deepEqual([...requestHead(params, true).subarray(0, 16)], [...beginRequest(true)]);
    assert.deepEqual(kinds(requestHead(params, true)), ['1:8', '4:4', '4:0']);
    assert.deepEqual(kinds(requestHead(params, false, Buffer.alloc(0))), ['1:8', '4:4', '4:0', '5:0']);
    assert.deepEqual(kinds(requestHead(params, false, Buffer.from('xy'))), ['1:8', '4:4', '4:0', '5:2', '5:0']);
    assert.deepEqual(kinds(requestHead(params, false, Buffer.alloc(70_000))), ['1:8', '4:4', '4:0', '5:65535', '5:4465', '5:0']);
  });

  it('skips padding', () => {
    const rec = Buffer.from([1, 6, 0, 1, 0, 2, 3, 0, 104, 105, 0, 0, 0]);
    const [got] = new RecordReader().push(rec);
    assert.equal(got.content.toString(), 'hi');
  });
});

describe('fastcgi paths and response headers', () => {
  it('splits SCRIPT_NAME from PATH_INFO like fastcgi_split_path_info', () => {
    assert.deepEqual(splitPath('/a.php/b/c', 'index.php', '.php'), { script: '/a.php', pathInfo: '/b/c' });
    assert.deepEqual(splitPath('/d/', 'index.php', '.php'), { script: '/d/index.php', pathInfo: '' });
    assert.deepEqual(splitPath('/x.phpx/y.php', 'index.php', '.php'), { script: '/x.phpx/y.php', pathInfo: '' });
    assert.equal(splitPath('/img/cat.jpg', 'index.php', '.php'), undefined);
    assert.equal(splitPath('/.php', 'index.php', '.php'), undefined);
  });

  it('parses PHP headers: Status, client and local redirects', () => {
    const p = new HeadParser();
    assert.equal(p.push(Buffer.from('Status: 404 Not Found\r\nX-Powered-By: PHP\r')), undefined);
    const got = p.push(Buffer.from('\nContent-type: text/html\r\n\r\nbody'))!;
    assert.deepEqual([got.head.status, got.head.reason, got.rest.toString()], [404, 'Not Found', 'body']);
    assert.deepEqual(parseHead('Location: http://x/').status, 302);
    assert.equal(parseHead('Location: /in').localRedirect, true);
    assert.throws(() => parseHead('no colon'), /bad header line/);
  });
});

describe('fastcgi connection pool', () => {
  let server: Server;
  let peers: Socket[];
  let pool: ConnPool;
  beforeEach(async () => {
    peers = [];
    server = createServer((s) => {
      peers.push(s);
      s.on('error', () => {});
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    pool = new ConnPool({ kind: 'tcp', host: '127.0.0.1', port, text: `127.0.0.1:${port}` }, { keepalive: 2, idleTimeout: 10_000, connectTimeout: 1000 });
  });
  afterEach(async () => {
    pool.close();
    for (const p of peers) p.destroy();
    await new Promise((r) => server.close(r));
  });

  it('keeps a released connection for reuse, and close() destroys it', async () => {
    const a = await pool.acquire();
    pool.release(a, true);
    const b = await pool.acquire();
    assert.equal(b.reused, true);
    assert.equal(b.socket, a.socket);
    pool.release(b, true);
    pool.close();
    assert.equal(b.socket.destroyed, true);
  });

  it('drops an idle connection the responder closed, and opens a new one for the next request', async () => {
    const a = await pool.acquire();
    pool.release(a, true);
    peers[0].destroy(); // a PHP-FPM child recycled by pm.max_requests
    await new Promise((r) => a.socket.once('close', r));
    const b = await pool.acquire();
    assert.notEqual(b.socket, a.socket);
    assert.equal(b.reused, false);
  });
});

describe('fastcgi response framing (PHP-FPM)', function () {
  let fpm: PhpFpm | undefined;
  let gate: TestGate | undefined;
  before(async function () {
    if (!PHP_FPM) {
      console.log(`      skipped: ${SKIP_REASON}`);
      this.skip();
    }
    fpm = await startPhpFpm(2);
    gate = await startGate(fastcgiConfig(`unix:${fpm.socket}`), { file: FASTCGI_FILE });
  });
  after(async () => {
    await gate?.close();
    await fpm?.stop();
  });

  it('sends a response that came whole with its Content-Length, and streams a long one chunked', async () => {
    const small = await rawGet(gate!.port, '/php/headers.php');
    assert.match(small.text, /\r\nContent-Length: 8\r\n/);
    assert.doesNotMatch(small.text, /Transfer-Encoding/i);
    assert.match(small.text, /\r\n\r\ncreated\n$/);
    const big = await rawGet(gate!.port, '/php/big.php');
    assert.match(big.text, /\r\nTransfer-Encoding: chunked\r\n/);
  });

  it('adds no Content-Length to a HEAD answer or a 204', async () => {
    const head = await rawRequest(gate!.port, 'HEAD /php/headers.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.equal(head.status, 201);
    assert.doesNotMatch(head.text, /Content-Length/i);
    const none = await rawGet(gate!.port, '/php/nocontent.php');
    assert.equal(none.status, 204);
    assert.doesNotMatch(none.text, /Content-Length/i);
  });
});
