import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/cli.js';
import { Pebble, PEBBLE_MISSING } from '../helpers/pebble.js';
import { freePort } from '../helpers/ports.js';
import { httpsGet } from '../helpers/tls-client.js';

const NAME = 'w.gatekit.test';

describe('tls acme with workers (gatekit run)', function () {
  this.timeout(60_000);
  let dir: string;
  let pebble: Pebble | undefined;
  let run: Served | undefined;

  before(function () {
    if (PEBBLE_MISSING) {
      console.log(`      skipped: ${PEBBLE_MISSING}`);
      this.skip();
    }
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-acme-run-'));
  });
  afterEach(async () => {
    await run?.stop();
    await pebble?.stop();
    run = pebble = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('has the master obtain and renew, and every worker serve each new certificate without a reload', async () => {
    const [httpPort, tlsPort] = [await freePort(), await freePort()];
    pebble = await Pebble.start(dir, { httpPort, tlsPort, validity: 10 });
    const file = join(dir, 'site.gate');
    writeFileSync(
      file,
      `global { workers 2 }
server ${NAME} {
    listen 127.0.0.1:${tlsPort} tls
    tls acme { ca ${pebble.directory}; ca_root "${pebble.caRoot}"; storage ./store; renew_before 8s }
    respond "hello from $host"
}
server {
    listen 127.0.0.1:${httpPort}
    redirect https
}
`,
    );
    run = serve(['run', file]);
    await run.waitFor(/acme: certificate obtained(?! by)/, 30_000);
    await run.waitFor(/master running/, 10_000);
    const root = await pebble.root();
    // workers that started before the certificate was stored swap it in when they see it: wait
    // (bounded) until the one a new connection meets verifies
    let first: Awaited<ReturnType<typeof httpsGet>> | undefined;
    for (let i = 0; i < 100 && !first; i++) {
      first = await httpsGet(tlsPort, NAME, root).catch((e: Error) => {
        if (!/self-signed/.test(e.message)) throw e;
        return new Promise<undefined>((r) => setTimeout(r, 100));
      });
    }
    assert.ok(first, 'the obtained certificate is served');
    assert.deepEqual([first.status, first.body], [200, `hello from ${NAME}`]);
    // a renewal after the first request, then both workers swapping it in
    const since = run.output().length;
    await run.waitFor(
      new RegExp(`^[^]{${since}}[^]*acme: certificate obtained(?! by)[^]*certificate updated worker=(\\d)[^]*certificate updated worker=(?!\\1)\\d`),
      30_000,
    );
    for (let i = 0; i < 4; i++) {
      // new connections, spread over both workers
      const res = await httpsGet(tlsPort, NAME, root);
      assert.deepEqual([res.status, res.serial !== first.serial], [200, true], 'a renewed certificate, verified');
    }
    assert.doesNotMatch(run.output(), /reload/i, 'no reload took place');
    assert.match(run.output(), /acme http-01 challenge answered worker=\d/);
  });
});
