import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';
import { ASGI_TESTDATA } from './asgi-gate.js';
import { PHP_FPM, SKIP_REASON, startPhpFpm, type PhpFpm } from './fastcgi-fixtures.js';
import { hasPython3, WSGI_TESTDATA } from './wsgi-gate.js';

/**
 * Every handler, behind `limit { body 1KB }`, gets what hostile or clumsy clients send:
 * bodies over the limit (with a length and chunked), bodies cut off, clients that leave at
 * each stage, broken chunked framing. gatekit runs as `gatekit run` with workers 0, so an
 * error nobody handles ends the process, which each case checks by asking /health after it.
 */

const LIMIT = 1024;
/** LATE holds requests at /NAME-late/ for a bcrypt check (a slow middleware), so a client can leave before the handler starts. */
const LATE = { user: 'late', password: 'let me in' };
const OVER = 4 * LIMIT;
const BIG = 4 * 1024 * 1024;

/** Places are where the fixtures are, once made. */
interface Places {
  readonly dir: string;
  readonly upstream: number;
  readonly fpm: string;
}

/** Target is one handler under test, mounted at /NAME/, with the paths that exercise it. */
interface Target {
  readonly name: string;
  /** directive is the handler's line in the route. */
  readonly directive: (at: Places) => string;
  /** body is a path whose answer comes after the whole request body is read (when `reads`). */
  readonly body: string;
  /** reads tells whether the handler reads request bodies; one that does not answers as usual. */
  readonly reads: boolean;
  /** status is what `body` answers to a POST it takes. */
  readonly status: number;
  /** slow is a path whose answer takes a while. */
  readonly slow: string;
  /** big is a path with a long answer, or undefined for a handler that has none. */
  readonly big?: string;
  /** skip says why the target cannot run here. */
  readonly skip?: string;
}

/** Reply is what a raw client saw: the status (0 for none) and whether it left first. */
interface Reply {
  readonly status: number;
  readonly text: string;
}

/**
 * talk writes `parts` on a fresh connection, in order. `leave` closes it right after the last
 * part is written ('sent'), or once the first response bytes came ('answer'); otherwise the
 * reply is read until the server closes (every request says Connection: close), 3 s at most.
 */
function talk(port: number, parts: readonly (string | Buffer)[], leave?: 'sent' | 'answer'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1');
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text: text.slice(0, 200) });
    };
    const timer = setTimeout(() => reject(new Error(`no end of the answer within 3 s: ${Buffer.concat(chunks).toString('latin1', 0, 200)}`)), 3000);
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (leave === 'answer') done();
    });
    s.on('end', done);
    s.on('close', done);
    s.on('error', () => done());
    s.on('connect', () => {
      // a whole request goes in one write: a server that answers before reading the body and
      // closes would otherwise reset the connection under the answer
      if (!leave) {
        s.write(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))));
        return;
      }
      parts.forEach((p, i) => s.write(p, i === parts.length - 1 && leave === 'sent' ? () => setImmediate(done) : undefined));
    });
  });
}

const head = (method: string, path: string, fields: string): string =>
  `${method} ${path} HTTP/1.1\r\nHost: survival.test\r\nConnection: close\r\n${fields}\r\n`;
const chunk = (n: number): string => `${n.toString(16)}\r\n${'x'.repeat(n)}\r\n`;

describe('survival: no client takes gatekit down (gatekit run, workers 0)', function () {
  this.timeout(10_000);
  let dir = '';
  let upstream: Server | undefined;
  let fpm: PhpFpm | undefined;
  let gate: Served | undefined;
  let port = 0;
  let file = '';
  const python = hasPython3();

  const targets: Target[] = [
    { name: 'respond', directive: () => 'respond 200 "fine"', body: '/', reads: false, status: 200, slow: '/' },
    { name: 'static', directive: (at) => `static ${at.dir}/public`, body: '/a.txt', reads: false, status: 405, slow: '/a.txt', big: '/big.bin' },
    { name: 'redirect', directive: () => 'redirect 301 /elsewhere', body: '/', reads: false, status: 301, slow: '/' },
    {
      name: 'proxy',
      directive: (at) => `proxy http://127.0.0.1:${at.upstream} { strip_prefix }`,
      body: '/echo',
      reads: true,
      status: 200,
      slow: '/slow',
      big: '/big',
    },
    { name: 'cgi', directive: (at) => `cgi ${at.dir}/cgi-bin`, body: '/echo.sh', reads: true, status: 200, slow: '/slow.sh', big: '/big.sh' },
    {
      name: 'wsgi',
      directive: () => `wsgi apps:application { chdir ${WSGI_TESTDATA}; workers 2 }`,
      body: '/upload',
      reads: true,
      status: 200,
      slow: '/slow?0.3',
      big: '/stream?chunks=4096&size=1024',
      ...(python ? {} : { skip: 'python3 is not installed' }),
    },
    {
      name: 'asgi',
      directive: () => `asgi apps:application { chdir ${ASGI_TESTDATA} }`,
      body: '/echo',
      reads: true,
      status: 200,
      slow: '/slow?0.3',
      big: '/forever',
      ...(python ? {} : { skip: 'python3 is not installed' }),
    },
    {
      name: 'php',
      directive: (at) => `fastcgi unix:${at.fpm} { root ${repoPath('plugins', 'fastcgi', 'testdata', 'www')} }`,
      body: '/env.php',
      reads: true,
      status: 200,
      slow: '/pause.php',
      big: '/big.php',
      ...(PHP_FPM ? {} : { skip: SKIP_REASON }),
    },
    { name: 'app', directive: (at) => `app ${at.dir}/app.mjs { strip_mount on }`, body: '/echo', reads: true, status: 200, slow: '/slow', big: '/big' },
  ];

  before(async function () {
    this.timeout(15_000);
    dir = mkdtempSync(join(tmpdir(), 'gk-survival-'));
    writeFixtures(dir);
    upstream = await startUpstream();
    if (PHP_FPM) fpm = await startPhpFpm(2);
    const at: Places = { dir, upstream: (upstream.address() as AddressInfo).port, fpm: fpm?.socket ?? '' };
    const late = `auth basic { user ${LATE.user} "${bcrypt.hashSync(LATE.password, 10)}"; max_failures 0 }`;
    const routes = targets
      .filter((t) => !t.skip)
      .flatMap((t) => [
        `  route /${t.name}/ { limit { body ${LIMIT}B }; ${t.directive(at)} }`,
        `  route /${t.name}-late/ { ${late}; limit { body ${LIMIT}B }; ${t.directive(at)} }`,
      ]);
    file = join(dir, 'survival.gate');
    writeFileSync(file, ['global { workers 0 }', 'server {', '  listen 127.0.0.1:0', '  route = /health { respond 200 "ok" }', ...routes, '}', ''].join('\n'));
    await start();
  });

  /** start runs gatekit; a case that took it down fails, and the next ones get a new one. */
  async function start(): Promise<void> {
    gate = serve(['run', file]);
    port = Number((await gate.waitFor(/listening url=http:\/\/127\.0\.0\.1:(\d+)/, 10_000))[1]);
  }

  beforeEach(async () => {
    if (gate && gate.child.exitCode === null && (await talk(port, [head('GET', '/health', '')]).catch(() => undefined))?.status === 200) return;
    await gate?.stop();
    await start();
  });

  after(async () => {
    await gate?.stop();
    await fpm?.stop();
    upstream?.closeAllConnections();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** alive asserts that the process runs, answers /health, and printed no unhandled error. */
  async function alive(): Promise<void> {
    assert.equal(gate!.child.exitCode, null, `gatekit exited:\n${gate!.output()}`);
    const r = await talk(port, [head('GET', '/health', '')]);
    assert.equal(r.status, 200, `/health after the case:\n${gate!.output()}`);
    assert.doesNotMatch(gate!.output(), /Unhandled|uncaught|^\s+at /m);
  }

  for (const t of targets) {
    describe(t.name, () => {
      before(function () {
        if (t.skip) this.skip();
      });
      const at = (path: string): string => `/${t.name}${path}`;

      it(`answers 413 to a Content-Length over the limit`, async () => {
        const r = await talk(port, [head('POST', at(t.body), `Content-Length: ${OVER}\r\n`), 'x'.repeat(OVER)]);
        assert.equal(r.status, 413, r.text);
        await alive();
      });

      it(`answers ${t.reads ? 413 : t.status} to a chunked body over the limit`, async () => {
        const r = await talk(port, [head('POST', at(t.body), 'Transfer-Encoding: chunked\r\n'), chunk(1000), chunk(1000), chunk(1000), '0\r\n\r\n']);
        assert.equal(r.status, t.reads ? 413 : t.status, r.text);
        await alive();
      });

      it('takes a body within the limit', async () => {
        const r = await talk(port, [head('POST', at(t.body), 'Transfer-Encoding: chunked\r\n'), chunk(500), '0\r\n\r\n']);
        assert.equal(r.status, t.status, r.text);
        await alive();
      });

      it('survives a Content-Length body cut off midway', async () => {
        await talk(port, [head('POST', at(t.body), 'Content-Length: 900\r\n'), 'x'.repeat(300)], 'sent');
        await alive();
      });

      it('survives a chunked body cut off mid-chunk', async () => {
        await talk(port, [head('POST', at(t.body), 'Transfer-Encoding: chunked\r\n'), chunk(300), '200\r\nxxxx'], 'sent');
        await alive();
      });

      it('survives a chunked body over the limit cut off mid-chunk', async () => {
        await talk(port, [head('POST', at(t.body), 'Transfer-Encoding: chunked\r\n'), chunk(1000), '400\r\nxxxx'], 'sent');
        await alive();
      });

      it('survives a client that leaves after the headers', async () => {
        await talk(port, [head('POST', at(t.body), 'Content-Length: 900\r\n')], 'sent');
        await talk(port, [head('POST', at(t.body), 'Transfer-Encoding: chunked\r\n')], 'sent');
        await alive();
      });

      it('survives a client that leaves while waiting for the answer', async () => {
        await talk(port, [head('GET', at(t.slow), '')], 'sent');
        await talk(port, [head('POST', at(t.body), 'Content-Length: 5\r\n'), 'hello'], 'sent');
        await alive();
      });

      it('survives a client that leaves while a middleware holds its request, and starts nothing for it', async () => {
        const credentials = `Authorization: Basic ${Buffer.from(`${LATE.user}:${LATE.password}`).toString('base64')}\r\n`;
        await talk(port, [head('GET', `/${t.name}-late${t.big ?? t.slow}`, credentials)], 'sent');
        await alive();
      });

      if (t.big) {
        it('survives a client that leaves mid-response', async () => {
          const r = await talk(port, [head('GET', at(t.big!), '')], 'answer');
          assert.equal(r.status, 200, r.text);
          await alive();
        });
      }

      it('answers malformed chunked framing with 400 or a closed connection', async () => {
        // a handler that does not read the body may answer before the parser finds the fault
        const allowed = t.reads ? [0, 400] : [0, 400, t.status];
        for (const bad of ['zz\r\nabc\r\n0\r\n\r\n', 'ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n', '3;a=b\nabc\r\n0\r\n\r\n', '3\r\nabcXY0\r\n\r\n']) {
          const r = await talk(port, [head('POST', at(t.body), 'Transfer-Encoding: chunked\r\n'), bad]);
          assert.ok(allowed.includes(r.status), `${JSON.stringify(bad)}: ${r.text}`);
        }
        await alive();
      });
    });
  }

  describe('afterwards', () => {
    it('is still running, with nothing unhandled in its output', async () => {
      await alive();
    });

    it('stops at once on TERM: nothing a client started is left in flight, here or in a pool', async () => {
      const g = gate!;
      g.child.kill('SIGTERM');
      const code = await Promise.race([g.exited(), new Promise<string>((r) => setTimeout(() => r('still running after 3 s'), 3000))]);
      assert.equal(code, 0, g.output().slice(-2000));
    });
  });
});

/** writeFixtures writes the static files, CGI scripts and Node application the targets serve. */
function writeFixtures(dir: string): void {
  mkdirSync(join(dir, 'public'));
  writeFileSync(join(dir, 'public', 'a.txt'), 'a file\n');
  writeFileSync(join(dir, 'public', 'big.bin'), Buffer.alloc(BIG, 'b'));
  mkdirSync(join(dir, 'cgi-bin'));
  const script = (name: string, text: string): void => {
    writeFileSync(join(dir, 'cgi-bin', name), `#!/bin/sh\n${text}\n`);
    chmodSync(join(dir, 'cgi-bin', name), 0o755);
  };
  script('echo.sh', 'n=$(wc -c)\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$n"');
  script('slow.sh', 'sleep 1\nprintf "Content-Type: text/plain\\r\\n\\r\\nlate\\n"');
  script('big.sh', `printf "Content-Type: application/octet-stream\\r\\n\\r\\n"\nhead -c ${BIG} /dev/zero`);
  writeFileSync(
    join(dir, 'app.mjs'),
    `
export default function app(req, res) {
  if (req.url === '/slow') { const t = setTimeout(() => res.end('late'), 300); res.on('close', () => clearTimeout(t)); return; }
  if (req.url === '/big') {
    let left = ${BIG};
    const piece = Buffer.alloc(65536, 'g');
    const more = () => { while (left > 0) { left -= piece.length; if (!res.write(piece)) { res.once('drain', more); return; } } res.end(); };
    res.on('close', () => { left = 0; });
    return more();
  }
  let n = 0;
  req.on('data', (c) => { n += c.length; });
  req.on('end', () => res.end(String(n)));
}
`,
  );
}

/** startUpstream is the proxy's upstream: /echo reads the body, /slow answers late, /big is long. */
async function startUpstream(): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/slow') {
      const t = setTimeout(() => res.end('late'), 300);
      res.on('close', () => clearTimeout(t));
      return;
    }
    if (req.url === '/big') {
      res.end(Buffer.alloc(BIG, 'p'));
      return;
    }
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
    });
    req.on('end', () => res.end(String(n)));
    req.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
