import assert from 'node:assert/strict';
import { startGate, type TestGate } from '../helpers/gate.js';
import { CGI_FILE, cgiConfig, describeSpawners, logValue, openRequest, processGone, waitUntil } from './cgi-fixtures.js';

describeSpawners('cgi: processes', () => {
  // hold.sh runs until the client ends its body: these tests stream it (request_buffering off)
  const STREAM = 'request_buffering off';
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('kills the whole process group after `timeout` and answers 504', async () => {
    gate = await startGate(cgiConfig('timeout 300ms'), { file: CGI_FILE });
    const res = await fetch(gate.url('/cgi-bin/sleepy.sh'));
    assert.equal(res.status, 504);
    await res.text();
    const pid = Number(await logValue(gate.logs, /grandchild (\d+)/));
    assert.ok(pid > 0, gate.logs.join('\n'));
    assert.ok(await waitUntil(() => processGone(pid)), `grandchild ${pid} still runs`);
    assert.ok(
      gate.logs.some((l) => /CGI script \/sleepy\.sh timed out.*status=504/.test(l)),
      gate.logs.join('\n'),
    );
  });

  it('queues requests over max_processes until a slot frees, then answers 503 past queue_timeout', async () => {
    gate = await startGate(cgiConfig(`${STREAM}; max_processes 1; queue_timeout 1s`), { file: CGI_FILE });
    const holder = openRequest(gate.port, '/cgi-bin/hold.sh');
    holder.write('x');
    assert.ok(await logValue(gate.logs, /pid (\d+)/), 'the holder runs');
    const queued = fetch(gate.url('/cgi-bin/env.sh'));
    await new Promise((r) => setTimeout(r, 50)); // let it reach the line
    holder.end();
    assert.equal((await holder.response).body, 'released\n');
    const served = await queued;
    assert.equal(served.status, 200);
    await served.text();

    await gate.close();
    gate = await startGate(cgiConfig(`${STREAM}; max_processes 1; queue_timeout 200ms`), { file: CGI_FILE });
    const second = openRequest(gate.port, '/cgi-bin/hold.sh');
    second.write('x');
    assert.ok(await logValue(gate.logs, /pid (\d+)/));
    const started = Date.now();
    const refused = await fetch(gate.url('/cgi-bin/env.sh'));
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    await refused.text();
    assert.ok(Date.now() - started >= 150, 'it waited in line first');
    second.end();
    assert.equal((await second.response).status, 200);
  });

  it('kills the script when the client goes away', async () => {
    gate = await startGate(cgiConfig(STREAM), { file: CGI_FILE });
    const req = openRequest(gate.port, '/cgi-bin/hold.sh');
    req.write('x');
    const pid = Number(await logValue(gate.logs, /pid (\d+)/));
    req.abort();
    assert.ok(await waitUntil(() => processGone(pid)), `script ${pid} still runs`);
  });

  it('kills every running script at close', async () => {
    gate = await startGate(cgiConfig(STREAM), { file: CGI_FILE });
    const req = openRequest(gate.port, '/cgi-bin/hold.sh');
    req.write('x');
    const pid = Number(await logValue(gate.logs, /pid (\d+)/));
    assert.equal(processGone(pid), false);
    await gate.close();
    gate = undefined;
    assert.ok(await waitUntil(() => processGone(pid)), `script ${pid} still runs`);
    req.abort();
  });
});
