import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/cli.js';
import { FASTCGI_FILE, PHP_FPM, SKIP_REASON, startPhpFpm, type PhpFpm } from './fastcgi-fixtures.js';

const LISTENING = /listening worker=1 url=http:\/\/127\.0\.0\.1:(\d+)/;

/** get answers one GET on a kept connection of `agent`, with its status and how long it took. */
function get(agent: Agent, port: number, path: string): Promise<{ status: number; ms: number }> {
  const t = Date.now();
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t }));
    })
      .on('error', reject)
      .end();
  });
}

describe('fastcgi: more kept connections than php-fpm children, 2 workers (gatekit run)', function () {
  this.timeout(20_000);
  let fpm: PhpFpm | undefined;
  let served: Served | undefined;
  let dir: string | undefined;
  before(async function () {
    if (!PHP_FPM) {
      console.log(`      skipped: ${SKIP_REASON}`);
      this.skip();
    }
    fpm = await startPhpFpm(2);
  });
  after(async () => {
    await served?.stop();
    await fpm?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every request moving: connections waiting in the backlog get children within about a second', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-fcgiw-'));
    const file = join(dir, 'site.gate');
    const www = join(FASTCGI_FILE, '..', 'www');
    // 2 workers x 4 kept connections for 2 children: most connections sit in php-fpm's backlog
    writeFileSync(file, `global { workers 2 }\nserver { listen 127.0.0.1:0\n  fastcgi unix:${fpm!.socket} { root ${www} }\n}\n`);
    served = serve(['run', file]);
    const port = Number((await served.waitFor(LISTENING, 8000))[1]);
    await served.waitFor(/master running/, 8000);
    const deadline = Date.now() + 2000;
    let slowest = 0;
    let served200 = 0;
    // 20 clients, each on its own kept connection, spread over both workers by the kernel
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        try {
          while (Date.now() < deadline) {
            const r = await get(agent, port, '/pid.php');
            assert.equal(r.status, 200);
            slowest = Math.max(slowest, r.ms);
            served200++;
          }
        } finally {
          agent.destroy();
        }
      }),
    );
    assert.ok(served200 > 100, `only ${served200} requests in 2 s`);
    // A kept connection holds its child a second at most (busy, or idle once its worker's
    // clients stop): without that, a request could wait for the whole load and keepalive_timeout.
    assert.ok(slowest < 2500, `a request waited ${slowest} ms`);
    assert.match(served.output(), /fewer children than workers x keepalive, 4 per worker, lower keepalive/);
  });
});
