import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { arg, directive, injectable, type Ctx, type Next, type Plugin, type AnyUnit } from '../../core/index.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawRequest } from '../helpers/raw-http.js';
import { send } from './proxy-upstreams.js';

/** Seen is one request as a strict upstream framed it: by its Content-Length or its chunks, nothing else. */
interface Seen {
  readonly connection: number;
  readonly line: string;
  readonly headers: [string, string][];
  readonly body: string;
  readonly trailers: string;
}

/** FramingUpstream records every request it frames, and every byte each connection carried. */
interface FramingUpstream {
  readonly port: number;
  readonly seen: Seen[];
  readonly bytes: string[];
  close(): Promise<void>;
}

/**
 * framingUpstream is a raw-socket upstream that frames requests as RFC 9112 6.3 says a
 * server must (Transfer-Encoding chunked, else Content-Length, else no body) and answers
 * each with its request line as the body. A body sent without its framing shows as bytes
 * at the start of the next request on that connection.
 */
async function framingUpstream(): Promise<FramingUpstream> {
  const seen: Seen[] = [];
  const bytes: string[] = [];
  const open = new Set<Socket>();
  const server: Server = createServer((s) => {
    const n = bytes.push('') - 1;
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
    let buf = '';
    s.on('data', (d: Buffer) => {
      bytes[n] += d.toString('latin1');
      buf += d.toString('latin1');
      for (let r = frame(buf); r; r = frame(buf)) {
        buf = buf.slice(r.used);
        seen.push({ connection: n, ...r.request });
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${r.request.line.length}\r\n\r\n${r.request.line}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    seen,
    bytes,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

/** frame takes one whole request from the front of `buf`, or undefined while it is incomplete. */
function frame(buf: string): { request: Omit<Seen, 'connection'>; used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [line, ...fields] = buf.slice(0, end).split('\r\n');
  const headers = fields.map((f): [string, string] => [f.slice(0, f.indexOf(':')), f.slice(f.indexOf(':') + 1).trim()]);
  const value = (name: string): string | undefined => headers.find(([k]) => k.toLowerCase() === name)?.[1];
  let at = end + 4;
  if (/chunked/i.test(value('transfer-encoding') ?? '')) {
    let body = '';
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return undefined;
      const size = parseInt(buf.slice(at, eol), 16);
      if (size === 0) {
        const done = buf.indexOf('\r\n\r\n', eol);
        if (done < 0 && buf.slice(eol, eol + 4) !== '\r\n\r\n') return undefined;
        const stop = buf.slice(eol, eol + 4) === '\r\n\r\n' ? eol : done;
        return { request: { line, headers, body, trailers: buf.slice(eol + 2, stop + 2) }, used: stop + 4 };
      }
      if (buf.length < eol + 2 + size + 2) return undefined;
      body += buf.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
  }
  const length = Number(value('content-length') ?? 0);
  if (buf.length < at + length) return undefined;
  return { request: { line, headers, body: buf.slice(at, at + length), trailers: '' }, used: at + length };
}

/** reframe is a middleware that swaps the request body for one of another length, as a careless decoder might. */
const reframe = directive({ name: 'reframe', kind: 'middleware', doc: 'Replace the request body', schema: { args: [arg.string('body')] } });

@injectable()
class ReframePlugin implements Plugin {
  readonly name = 'reframe';
  readonly directives = [reframe];
  create(_d: string, config: unknown): AnyUnit {
    const body = (config as { body: string }).body;
    return {
      handle: async (ctx: Ctx, next: Next) => {
        ctx.body.resume();
        ctx.body = Readable.from([Buffer.from(body)]);
        await next();
      },
    };
  }
}

/** SMUGGLED is a body that, read as the start of the next request, would send that client's request to /admin. */
const SMUGGLED = 'GET /admin HTTP/1.1\r\nX-Swallow: ';

describe('proxy: request framing upstream is its own, whatever the client names', () => {
  let gate: TestGate | undefined;
  let up: FramingUpstream | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    await up?.close();
    up = undefined;
  });
  const front = async (options = ''): Promise<{ g: TestGate; u: FramingUpstream }> => {
    up = await framingUpstream();
    gate = await startGate(`server { listen 127.0.0.1:0; proxy http://127.0.0.1:${up.port} { retries 0; ${options} } }`);
    return { g: gate, u: up };
  };
  const header = (s: Seen, name: string): string[] => s.headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);

  for (const connection of ['close, Content-Length', 'content-length, close', 'close, Transfer-Encoding', 'close, Host']) {
    it(`sends a body with its length however Connection names it (Connection: ${connection}): the next client's request stays its own`, async () => {
      const { g, u } = await front();
      const a = await rawRequest(
        g.port,
        `POST /a HTTP/1.1\r\nHost: site.test\r\nConnection: ${connection}\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
        1000,
      );
      assert.ok(a.text.endsWith('POST /a HTTP/1.1'), a.text);
      const b = await send(g.port, '/b', { headers: { cookie: 'sid=victim' } });
      assert.equal(b.body, 'GET /b HTTP/1.1');
      assert.deepEqual(
        u.seen.map((s) => [s.connection, s.line, s.body]),
        [
          [0, 'POST /a HTTP/1.1', SMUGGLED],
          [0, 'GET /b HTTP/1.1', ''],
        ],
        'one pooled connection, two requests',
      );
      assert.deepEqual(header(u.seen[0], 'content-length'), [String(SMUGGLED.length)]);
      assert.deepEqual(header(u.seen[0], 'host'), ['site.test']);
    });
  }

  it('sends a chunked body chunked however Connection names Transfer-Encoding or Content-Length', async () => {
    const { g, u } = await front();
    const chunked = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
    await rawRequest(
      g.port,
      `POST /a HTTP/1.1\r\nHost: x\r\nConnection: close, Transfer-Encoding, Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`,
      1000,
    );
    assert.equal((await send(g.port, '/b')).body, 'GET /b HTTP/1.1');
    assert.deepEqual(
      u.seen.map((s) => [s.line, s.body]),
      [
        ['POST /a HTTP/1.1', SMUGGLED],
        ['GET /b HTTP/1.1', ''],
      ],
    );
    assert.deepEqual(header(u.seen[0], 'transfer-encoding'), ['chunked']);
    assert.deepEqual(header(u.seen[0], 'content-length'), []);
  });

  it("writes the length it frames by, not the client's spelling of it", async () => {
    const { g, u } = await front();
    await rawRequest(g.port, 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 003\r\nConnection: close\r\n\r\nabc', 1000);
    assert.deepEqual(header(u.seen[0], 'content-length'), ['3']);
  });

  it('passes request trailers on, but no trailer field that frames or routes a message', async () => {
    const { g, u } = await front();
    await rawRequest(
      g.port,
      'POST /a HTTP/1.1\r\nHost: x\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\nHost: evil.test\r\nConnection: close\r\n\r\n',
      1000,
    );
    assert.equal(u.seen[0].body, 'abc');
    assert.equal(u.seen[0].trailers, 'X-Sum: 1\r\n');
  });

  it('keeps Expect, Keep-Alive, Proxy-Connection and TE (but trailers) from the upstream', async () => {
    const { g, u } = await front();
    await rawRequest(
      g.port,
      'POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nKeep-Alive: timeout=99\r\nProxy-Connection: keep-alive\r\nTE: gzip, trailers\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
      1000,
    );
    const names = u.seen[0].headers.map(([k]) => k.toLowerCase());
    assert.deepEqual(
      ['expect', 'keep-alive', 'proxy-connection', 'connection'].filter((n) => names.includes(n)),
      [],
    );
    assert.deepEqual(header(u.seen[0], 'te'), ['trailers']);
    assert.equal(u.seen[0].body, 'ok');
  });

  it("lets header_up set Host, and the framing stays the proxy's", async () => {
    const { g, u } = await front('header_up set Host backend.internal');
    await send(g.port, '/a', { method: 'POST', body: 'hello' });
    assert.deepEqual(header(u.seen[0], 'host'), ['backend.internal']);
    assert.deepEqual(header(u.seen[0], 'content-length'), ['5']);
    assert.equal(u.seen[0].body, 'hello');
  });

  it('never writes past the length it sent, nor pools a connection whose body ended short, when a middleware changed the body', async () => {
    up = await framingUpstream();
    gate = await startGate(
      `server { listen 127.0.0.1:0
      route /long { reframe "abcGET /admin"; proxy http://127.0.0.1:${up.port} { retries 0 } }
      route /short { reframe "a"; proxy http://127.0.0.1:${up.port} { retries 0 } }
      route / { proxy http://127.0.0.1:${up.port} { retries 0 } }
    }`,
      { plugins: [ReframePlugin] },
    );
    const u = up;
    assert.equal((await send(gate.port, '/long', { method: 'POST', body: 'abc' })).status, 500);
    assert.equal((await send(gate.port, '/short', { method: 'POST', body: 'abc' })).status, 500);
    assert.equal((await send(gate.port, '/b')).body, 'GET /b HTTP/1.1');
    assert.ok(
      u.bytes.every((b) => !b.includes('/admin')),
      u.bytes.join('\n----\n'),
    );
    assert.deepEqual(
      u.seen.map((s) => s.line),
      ['GET /b HTTP/1.1'],
    );
  });
});
