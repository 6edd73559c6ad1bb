import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkGate, startGate, type TestGate } from '../helpers/gate.js';
import { CGI_DIR, CGI_FILE, parseEnv } from './cgi-fixtures.js';

const run = promisify(execFile);
const BACKEND = '/usr/lib/git-core/git-http-backend';
const HAS_GIT = statSync(BACKEND, { throwIfNoEntry: false })?.isFile() ?? false;
// as htpasswd -s makes it: {SHA} of 'push-secret', quick to check
const PUSHER = `pusher "{SHA}${createHash('sha1').update('push-secret').digest('base64')}"`;

describe('cgi: one program mounted at a route, and symlinks that leave the folder', () => {
  let gate: TestGate | undefined;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gk-cgi-prog-'));
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs one program for every path under the mount: SCRIPT_NAME is the mount point, the rest PATH_INFO', async () => {
    gate = await startGate(
      `server { listen 127.0.0.1:0
      route /tool/ { cgi ./cgi-bin/env.sh }
    }`,
      { file: CGI_FILE },
    );
    const res = await fetch(gate.url('/tool/repo.git/info/refs?service=git-upload-pack'));
    assert.equal(res.status, 200);
    const env = parseEnv(await res.text());
    assert.equal(env.SCRIPT_NAME, '/tool');
    assert.equal(env.PATH_INFO, '/repo.git/info/refs');
    assert.equal(env.SCRIPT_FILENAME, `${CGI_DIR}/env.sh`);
    assert.equal(env.QUERY_STRING, 'service=git-upload-pack');
    assert.equal(env.PATH_TRANSLATED, `${CGI_DIR}/repo.git/info/refs`, "PATH_INFO mapped into the program's folder by default");
  });

  it('checks that a mounted program can run', async () => {
    writeFileSync(join(dir, 'data.txt'), 'not a program');
    const diags = await checkGate(`server { listen 80\n  route /x/ { cgi ${dir}/data.txt } }`);
    assert.deepEqual(
      diags.map((d) => [d.code, d.span.line, d.span.col]),
      [['GK_CGI_DIR', 2, 19]],
    );
    assert.match(diags[0].message, /neither a folder nor an executable program/);
    assert.deepEqual(await checkGate(`server { listen 80; route /x/ { cgi ${CGI_DIR}/env.sh } }`), []);
  });

  it('refuses a script that is a symlink out of the folder with 403 and one log line naming follow_symlinks; runs it with follow_symlinks on', async () => {
    const bin = join(dir, 'cgi-bin');
    mkdirSync(bin);
    symlinkSync(`${CGI_DIR}/env.sh`, join(bin, 'tool'));
    gate = await startGate(`server { listen 127.0.0.1:0; route /cgi-bin/ { cgi ${bin} } }`);
    const refused = await fetch(gate.url('/cgi-bin/tool/x'));
    assert.equal(refused.status, 403);
    const lines = gate.logs.filter((l) => /follow_symlinks/.test(l));
    assert.equal(lines.length, 1, gate.logs.join('\n'));
    assert.match(lines[0], /warn .*\/cgi-bin\/tool.*env\.sh/);
    await gate.close();
    gate = await startGate(`server { listen 127.0.0.1:0; route /cgi-bin/ { cgi ${bin} { follow_symlinks on } } }`);
    const ran = await fetch(gate.url('/cgi-bin/tool/x'));
    assert.equal(ran.status, 200);
    const env = parseEnv(await ran.text());
    assert.deepEqual([env.SCRIPT_NAME, env.PATH_INFO], ['/cgi-bin/tool', '/x']);
  });
});

describe('cgi: git smart HTTP through git-http-backend', function () {
  this.timeout(30_000); // real git clones and pushes
  let gate: TestGate | undefined;
  let dir: string;
  const git = (cwd: string, ...args: string[]) =>
    run('git', ['-c', 'user.name=Tester', '-c', 'user.email=t@example.test', '-c', 'init.defaultBranch=main', ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' },
    });
  before(function () {
    if (!HAS_GIT) {
      console.log(`      skipped: ${BACKEND} is not installed (apt-get install git)`);
      this.skip();
    }
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gk-git-'));
    mkdirSync(join(dir, 'repos'));
    await git(join(dir, 'repos'), 'init', '--bare', '--quiet', 'project.git');
  });
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** cloneCommitPush clones `url`, commits a file, pushes it, and returns what the bare repository's main now holds. */
  const cloneCommitPush = async (url: string): Promise<string> => {
    await git(dir, 'clone', '--quiet', url, 'work');
    const work = join(dir, 'work');
    writeFileSync(join(work, 'README'), 'pushed through gatekit\n');
    writeFileSync(join(work, 'big.bin'), randomBytes(3 << 20)); // over git's 1 MiB http.postBuffer: the push goes chunked
    await git(work, 'add', 'README', 'big.bin');
    await git(work, 'commit', '--quiet', '-m', 'first commit');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    const { stdout } = await git(join(dir, 'repos', 'project.git'), 'show', 'main:README');
    return stdout;
  };

  it('clones and pushes with the program mounted at /git/ (push needs a user: auth basic sets REMOTE_USER)', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0
      route /git/ {
        auth basic { realm "git"; user ${PUSHER} }
        cgi ${BACKEND} { env GIT_PROJECT_ROOT ${dir}/repos; env GIT_HTTP_EXPORT_ALL 1 }
      }
    }`);
    assert.equal(await cloneCommitPush(`http://pusher:push-secret@127.0.0.1:${gate.port}/git/project.git`), 'pushed through gatekit\n');
    const { stdout } = await git(dir, 'clone', '--quiet', `http://pusher:push-secret@127.0.0.1:${gate.port}/git/project.git`, 'again');
    assert.equal(stdout, '');
    assert.equal(statSync(join(dir, 'again', 'README')).isFile(), true, 'a second clone gets the pushed commit');
  });

  it('serves git-http-backend symlinked into a CGI folder with follow_symlinks on', async () => {
    const bin = join(dir, 'cgi-bin');
    mkdirSync(bin);
    symlinkSync(BACKEND, join(bin, 'git'));
    chmodSync(bin, 0o755);
    gate = await startGate(`server { listen 127.0.0.1:0
      route /cgi-bin/ {
        auth basic { realm "git"; user ${PUSHER} }
        cgi ${bin} { follow_symlinks on; env GIT_PROJECT_ROOT ${dir}/repos; env GIT_HTTP_EXPORT_ALL 1 }
      }
    }`);
    assert.equal(await cloneCommitPush(`http://pusher:push-secret@127.0.0.1:${gate.port}/cgi-bin/git/project.git`), 'pushed through gatekit\n');
  });
});
