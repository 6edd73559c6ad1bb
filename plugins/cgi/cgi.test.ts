import assert from 'node:assert/strict';
import { checkGate } from '../../test/helpers/gate.js';
import { repoPath } from '../../test/helpers/paths.js';
import { BadCgiHead as BadHead, CgiHeadParser as HeadParser, CGI_MAX_HEAD as MAX_HEAD, parseCgiHead as parseHead } from '../../lib/cgi-response.js';
import { Slots } from './slots.js';

const FILE = repoPath('plugins', 'cgi', 'testdata', 't.gate');
const codes = async (text: string): Promise<string[]> => (await checkGate(text, { file: FILE })).map((d) => `${d.code} ${d.span.line}:${d.span.col}`);

describe('cgi schema and validation', () => {
  it('checks clean with every option', async () => {
    assert.deepEqual(
      await codes(`server { listen 80; route /cgi-bin/ { cgi ./cgi-bin {
      interpreter .py sh -e; pass_env LANG TZ; pass_env HOME; env A b; timeout 5s; max_processes 4; queue_timeout 100ms
      document_root .; pass_auth off; spawner fork } } }`),
      [],
    );
  });

  it('reports a missing folder at the directive', async () => {
    assert.deepEqual(await codes('server { listen 80\n  route /x/ { cgi ./nope } }'), ['GK_CGI_DIR 2:19']);
  });

  it('reports a bad extension, an interpreter not on PATH, and HTTP_PROXY', async () => {
    assert.deepEqual(await codes('server { listen 80; cgi ./cgi-bin { interpreter py sh; interpreter .x no-such-interpreter-gk; pass_env HTTP_PROXY } }'), [
      'GK_CGI_HTTPOXY 1:21',
      'GK_CGI_INTERPRETER 1:37',
      'GK_CGI_INTERPRETER 1:56',
    ]);
  });

  it('reports spawner helper at its value when python3 is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      assert.deepEqual(await codes('server { listen 80; cgi ./cgi-bin {\n  spawner helper } }'), ['GK_CGI_SPAWNER 2:11']);
    } finally {
      process.env.PATH = path;
    }
  });

  it('reports bad option values at their position', async () => {
    const [d] = await checkGate('server { listen 80; cgi ./cgi-bin { max_processes 0 } }', { file: FILE });
    assert.deepEqual([d.code, d.span.col], ['GK_DSL_BAD_ARG', 51]);
  });
});

describe('cgi response header parser', () => {
  it('finds the blank line across chunks, with LF or CRLF line ends', () => {
    const p = new HeadParser();
    assert.equal(p.push(Buffer.from('Content-Type: text/plain\r\nX-A: 1\r')), undefined);
    const got = p.push(Buffer.from('\n\r\nbody'));
    assert.ok(got);
    assert.deepEqual(got.head.headers, [
      ['Content-Type', 'text/plain'],
      ['X-A', '1'],
    ]);
    assert.equal(got.rest.toString(), 'body');
    const lf = new HeadParser().push(Buffer.from('Status: 404\n\n'));
    assert.deepEqual([lf?.head.status, lf?.head.reason, lf?.rest.length], [404, undefined, 0]);
  });

  it('tells local redirects from client redirects', () => {
    assert.equal(parseHead('Location: /a?b').localRedirect, true);
    assert.equal(parseHead('Location: //evil.test/').localRedirect, false);
    assert.equal(parseHead('Location: //evil.test/').status, 302);
    const moved = parseHead('Location: /a\nStatus: 301 Moved');
    assert.deepEqual([moved.localRedirect, moved.status, moved.reason], [false, 301, 'Moved']);
  });

  it('refuses garbage', () => {
    for (const text of ['not a header', 'X-A: 1', 'Status: 99', 'Status: abc', ': empty name', 'Bad Name: x', '', 'Content-Type: a\u0001b']) {
      assert.throws(() => parseHead(text), BadHead, JSON.stringify(text));
    }
    assert.throws(() => new HeadParser().push(Buffer.alloc(MAX_HEAD + 1, 97)), /longer than/);
    assert.throws(() => new HeadParser().end(), /no output/);
  });
});

describe('cgi process slots', () => {
  it('hands a freed slot to the first in line, and turns waiters away after the wait or at close', async () => {
    const slots = new Slots(1, 50);
    const release = await slots.take();
    const second = slots.take();
    assert.equal(slots.waiting, 1);
    release();
    release(); // twice is harmless
    const release2 = await second;
    assert.equal(slots.running, 1);
    await assert.rejects(slots.take(), (e: { status?: number }) => e.status === 503);
    const third = slots.take();
    slots.close();
    await assert.rejects(third, (e: { status?: number }) => e.status === 503);
    release2();
    assert.equal(slots.running, 0);
  });
});
