import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawGet, rawRequest } from '../helpers/raw-http.js';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';

/** makeTree builds base/{secret.txt, root-evil/, root/...}: a root with traps around it. */
function makeTree(): { base: string; root: string } {
  const base = mkdtempSync(join(tmpdir(), 'gatekit-static-sec-'));
  const root = join(base, 'root');
  writeFileSync(join(base, 'secret.txt'), SECRET);
  mkdirSync(join(base, 'root-evil'));
  writeFileSync(join(base, 'root-evil', 'secret.txt'), SECRET);
  for (const d of ['sub', '.git', '.well-known', 'inner']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'ok.txt'), 'ok');
  writeFileSync(join(root, 'inner', 'deep.txt'), 'deep');
  writeFileSync(join(root, '.env'), `SECRET=${SECRET}`);
  writeFileSync(join(root, '.git', 'config'), SECRET);
  writeFileSync(join(root, 'sub', '.hidden'), SECRET);
  writeFileSync(join(root, '.well-known', 'security.txt'), 'contact');
  writeFileSync(join(root, 'notes.bak'), 'backup');
  symlinkSync('ok.txt', join(root, 'link-in.txt'));
  symlinkSync('inner', join(root, 'linkdir-in'));
  symlinkSync(join(base, 'secret.txt'), join(root, 'link-out.txt'));
  symlinkSync('..', join(root, 'linkdir-out'));
  symlinkSync('../root-evil', join(root, 'sneaky'));
  return { base, root };
}

/** TRAVERSALS are request targets that must never reach a file outside the root. */
const TRAVERSALS = [
  '/../secret.txt',
  '/../../secret.txt',
  '/inner/../../secret.txt',
  '/%2e%2e/secret.txt',
  '/%2E%2E/%2E%2E/secret.txt',
  '/%2e%2e%2fsecret.txt',
  '/..%2fsecret.txt',
  '/inner%2f..%2f..%2fsecret.txt',
  '/.%2e/secret.txt',
  '/%252e%252e/secret.txt',
  '/..\\secret.txt',
  '/inner\\..\\..\\secret.txt',
  '/%5c..%5csecret.txt',
  '/..%5c..%5csecret.txt',
  '/secret.txt%00.txt',
  '/ok.txt%00/../../secret.txt',
  '/%00',
  '/%zz/secret.txt',
  '/%',
  '/%2',
  '/%c0%ae%c0%ae/secret.txt',
  '/%c0%af..%c0%afsecret.txt',
  '/%e0%80%ae%e0%80%ae/secret.txt',
  '/%ff/secret.txt',
  '//../secret.txt',
  '/./../secret.txt',
  '/link-out.txt',
  '/linkdir-out/secret.txt',
  '/sneaky/secret.txt',
  '/linkdir-out/root-evil/secret.txt',
];

describe('static: nothing outside the root is served (raw sockets)', () => {
  let gate: TestGate | undefined;
  let tree: { base: string; root: string };
  before(() => {
    tree = makeTree();
  });
  after(() => rmSync(tree.base, { recursive: true, force: true }));
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  for (const [label, route, prefix] of [
    ['at the server root', '/', ''],
    ['under a mount point', '/assets/', '/assets'],
  ] as const) {
    it(`refuses every traversal ${label} with 400 or 404`, async () => {
      gate = await startGate(
        `server { listen 127.0.0.1:0; route ${route} { static "${tree.root}" { browse on } } route / { respond 404 "nothing" } }`.replace(
          'route / { respond 404 "nothing" }',
          route === '/' ? '' : 'route / { respond 404 "nothing" }',
        ),
      );
      assert.equal((await rawGet(gate.port, `${prefix}/ok.txt`)).status, 200);
      for (const t of TRAVERSALS) {
        const r = await rawGet(gate.port, prefix + t);
        assert.ok(r.status === 400 || r.status === 404, `${prefix}${t} answered ${r.status}`);
        assert.ok(!r.text.includes(SECRET), `${prefix}${t} leaked the secret`);
      }
    });
  }

  it('refuses a traversal in an absolute-form request target', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; static "${tree.root}" }`);
    for (const t of ['http://localhost/../secret.txt', 'http://localhost/%2e%2e/secret.txt', 'http://localhost/..%2fsecret.txt']) {
      const r = await rawRequest(gate.port, `GET ${t} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      assert.ok(r.status === 400 || r.status === 404, `${t} answered ${r.status}`);
      assert.ok(!r.text.includes(SECRET));
    }
  });

  it('serves symlinks that stay inside the root', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; static "${tree.root}" }`);
    const a = await rawGet(gate.port, '/link-in.txt');
    assert.deepEqual([a.status, a.text.endsWith('\r\n\r\nok')], [200, true]);
    assert.equal((await rawGet(gate.port, '/linkdir-in/deep.txt')).status, 200);
  });

  it('serves symlinks that leave the root only with follow_symlinks on', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; static "${tree.root}" { follow_symlinks on } }`);
    const r = await rawGet(gate.port, '/link-out.txt');
    assert.equal(r.status, 200);
    assert.ok(r.text.includes(SECRET));
    assert.ok(!(await rawGet(gate.port, '/../secret.txt')).text.includes(SECRET), '.. stays refused');
  });

  it('hides dotfiles by default, but not .well-known, in requests and listings', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; static "${tree.root}" { browse on } }`);
    for (const t of ['/.env', '/.git/config', '/.git/', '/sub/.hidden', '/%2eenv', '/.git%2fconfig']) {
      const r = await rawGet(gate.port, t);
      assert.ok(r.status === 404 || r.status === 400, `${t} answered ${r.status}`);
      assert.ok(!r.text.includes(SECRET), `${t} leaked`);
    }
    assert.equal((await rawGet(gate.port, '/.well-known/security.txt')).status, 200);
    const listing = (await rawGet(gate.port, '/')).text;
    for (const name of ['.env', '.git', 'link-out.txt', 'linkdir-out', 'sneaky']) assert.ok(!listing.includes(`>${name}`), `${name} listed`);
    for (const name of ['ok.txt', 'link-in.txt', 'linkdir-in/', '.well-known/']) assert.ok(listing.includes(`>${name}<`), `${name} not listed`);
  });

  it('takes its own list of hidden names, or none with hidden off', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0; static "${tree.root}" { hidden *.bak .git } }`);
    assert.equal((await rawGet(gate.port, '/notes.bak')).status, 404);
    assert.equal((await rawGet(gate.port, '/.git/config')).status, 404);
    assert.equal((await rawGet(gate.port, '/.env')).status, 200);
    await gate.close();
    gate = await startGate(`server { listen 127.0.0.1:0; static "${tree.root}" { hidden off } }`);
    assert.equal((await rawGet(gate.port, '/.git/config')).status, 200);
  });
});
