import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, directive, injectable, HttpError, type Ctx, type Plugin, type AnyUnit } from '../../core/index.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawGet, rawRequest } from '../helpers/raw-http.js';
import { waitFor } from './proxy-upstreams.js';
import { waitForLog } from './wsgi-gate.js';

/** FailPlugin: `fail_with HOW` fails as handlers do, or returns unanswered once its client has left (as wsgi and asgi do). */
@injectable()
class FailPlugin implements Plugin {
  readonly name = 'fail';
  readonly directives = [directive({ name: 'fail_with', kind: 'handler', doc: 'fail', schema: { args: [arg.string('how')] } })];
  create(_d: string, config: unknown): AnyUnit {
    const { how } = config as { how: string };
    return {
      handle: async (ctx: Ctx) => {
        switch (how) {
          case 'upstream':
            throw new HttpError(502, 'wsgi worker 8603 exited before it answered');
          case 'bug':
            throw new TypeError("Cannot read properties of undefined (reading 'secret')");
          case 'hidden':
            throw new HttpError(403, 'script /srv/cgi-bin/x.sh is not executable');
          case 'exposed':
            throw new HttpError(400, 'the date parameter must be ISO 8601', { expose: true });
          default:
            await new Promise((resolve) => ctx.res.once('close', resolve)); // the client left: nothing to answer
        }
      },
    };
  }
}

const idOf = (body: string): string => /^request id: (\S+)$/m.exec(body)?.[1] ?? 'none';

describe('error responses', () => {
  let gate: TestGate | undefined;
  let dir: string | undefined;
  let slow: Server | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    slow?.closeAllConnections();
    slow?.close();
    slow = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const start = async (): Promise<TestGate> =>
    (gate = await startGate(
      `server { listen 127.0.0.1:0
    route /upstream { fail_with upstream }
    route /bug { fail_with bug }
    route /hidden { fail_with hidden }
    route /exposed { fail_with exposed }
  }`,
      { plugins: [FailPlugin] },
    ));

  it('tells the client a 5xx status and the request id only; the log line has the detail and the same id', async () => {
    const g = await start();
    const res = await fetch(g.url('/upstream'));
    const body = await res.text();
    assert.equal(res.status, 502);
    assert.equal(body, `502 Bad Gateway\nrequest id: ${idOf(body)}\n`);
    await waitForLog(g.logs, new RegExp(`error wsgi worker 8603 exited before it answered request_id=${idOf(body)} `));
    const bug = await fetch(g.url('/bug'));
    const bugBody = await bug.text();
    assert.deepEqual([bug.status, bugBody], [500, `500 Internal Server Error\nrequest id: ${idOf(bugBody)}\n`]);
    const line = await waitForLog(g.logs, new RegExp(`request_id=${idOf(bugBody)} `));
    assert.match(line, /error request failed .*status=500 error="TypeError: Cannot read properties/);
  });

  it('shows a 4xx message meant for the client, and only logs one that is not', async () => {
    const g = await start();
    const exposed = await fetch(g.url('/exposed'));
    const text = await exposed.text();
    assert.equal(text, `400 Bad Request\nthe date parameter must be ISO 8601\nrequest id: ${idOf(text)}\n`);
    const hidden = await fetch(g.url('/hidden'));
    const hiddenText = await hidden.text();
    assert.equal(hiddenText, `403 Forbidden\nrequest id: ${idOf(hiddenText)}\n`);
    await waitForLog(g.logs, new RegExp(`info script /srv/cgi-bin/x\\.sh is not executable request_id=${idOf(hiddenText)} .*status=403`));
    const host = await rawRequest(g.port, 'GET / HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n');
    assert.match(host.text, /\r\n\r\n400 Bad Request\nbad Host header\nrequest id: \S+\n$/);
    const none = await rawGet(g.port, '/nothing-here');
    assert.match(none.text, /\r\n\r\n404 Not Found\nrequest id: \S+\n$/);
  });

  it('logs a client that leaves before the answer as 499 at info, in one line with no stack, and so does the access log', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-499-'));
    slow = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => slow!.listen(0, '127.0.0.1', r));
    const port = (slow.address() as { port: number }).port;
    const g = (gate = await startGate(
      `server { listen 127.0.0.1:0; log { format "$status $uri"; to ${dir}/access.log }
      route /gone { fail_with leave }
      route /proxied { proxy http://127.0.0.1:${port} }
    }`,
      { plugins: [FailPlugin] },
    ));
    for (const path of ['/gone', '/proxied']) {
      await rawRequest(g.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, 100); // leaves after 100 ms
      await waitForLog(g.logs, new RegExp(`info client closed the request request_id=\\S+ method=GET uri=${path} status=499$`));
    }
    const access = (): string[] => readFileSync(join(dir!, 'access.log'), 'utf8').split('\n').filter(Boolean);
    await waitFor(() => access().length === 2, 2000, 'two access log lines');
    assert.deepEqual(access().sort(), ['499 /gone', '499 /proxied']);
    assert.ok(!g.logs.some((l) => / error |without sending|\\n\s+at /.test(l)), g.logs.join('\n'));
  });
});
