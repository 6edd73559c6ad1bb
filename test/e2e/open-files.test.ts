import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/cli.js';
import { rawGet, type RawResponse } from '../helpers/raw-http.js';
import { waitFor } from '../integration/proxy-upstreams.js';

const LISTENING = /listening url=http:\/\/127\.0\.0\.1:(\d+)/;
const REFUSED = /error connections refused at the open-file limit refused=(\d+) client_connections=(\d+) open_file_limit=128/;

/** opened connects to a port and resolves with the socket once connected; `closed` tells whether the server closed it since. */
function opened(port: number): Promise<Socket & { closedByServer?: boolean }> {
  return new Promise((resolve, reject) => {
    const s: Socket & { closedByServer?: boolean } = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
    s.on('close', () => {
      s.closedByServer = true;
    });
  });
}

describe('gatekit run at its open-file limit', function () {
  this.timeout(15_000);
  let dir: string;
  let served: Served | undefined;
  const clients: Socket[] = [];
  beforeEach(function () {
    if (process.platform !== 'linux') this.skip(); // the limit is read from /proc/self/limits
    dir = mkdtempSync(join(tmpdir(), 'gatekit-nofile-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await served?.stop();
    served = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses connections past the limit with a log line a second at most, keeps serving the rest, and recovers', async () => {
    const file = join(dir, 'site.gate');
    writeFileSync(file, 'server { listen 127.0.0.1:0; respond "fine" }\n');
    served = serve(['run', file], { openFiles: 128 });
    const port = Number((await served.waitFor(LISTENING, 5000))[1]);
    for (let i = 0; i < 100; i++) clients.push(await opened(port));
    const [, refused, budget] = await served.waitFor(REFUSED, 5000);
    assert.ok(Number(refused) >= 1 && Number(budget) < 128, `refused=${refused} budget=${budget}`);
    const open = (): Socket[] => clients.filter((c: Socket & { closedByServer?: boolean }) => !c.closedByServer);
    await waitFor(() => open().length === Number(budget), 3000, `the ${budget} connections within the budget alone open`);
    const kept = open();
    const answer = new Promise<string>((resolve) => {
      let t = '';
      kept[0].on('data', (d: Buffer) => {
        t += d.toString();
        if (t.endsWith('fine')) resolve(t);
      });
    });
    kept[0].write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(await answer, /^HTTP\/1\.1 200 /, 'a connection within the budget is served');
    for (const c of clients.splice(0)) c.destroy();
    const get = (): Promise<RawResponse | undefined> => rawGet(port, '/').catch(() => undefined); // refused while the server sees the closes
    let after = await get();
    for (const until = Date.now() + 3000; after?.status !== 200 && Date.now() < until;) after = await get();
    assert.deepEqual([after?.status, after?.text.endsWith('fine')], [200, true], 'served again once connections closed');
    const lines = served
      .output()
      .split('\n')
      .filter((l) => REFUSED.test(l));
    const times = lines.map((l) => Date.parse(l.slice(0, l.indexOf(' '))));
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 900, `one line a second at most:\n${lines.join('\n')}`);
    const total = lines.reduce((n, l) => n + Number(/refused=(\d+)/.exec(l)![1]), 0);
    assert.ok(total <= 100 - Number(budget), `${total} counted`);
  });
});
