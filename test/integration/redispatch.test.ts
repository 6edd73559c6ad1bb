import assert from 'node:assert/strict';
import { directive, injectable, type Ctx, type Plugin, type AnyUnit } from '../../core/index.js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { CGI_FILE, CGI_DIR } from './cgi-fixtures.js';

const hop = directive({ name: 'hop', kind: 'handler', doc: 'Count down: /hop/N goes to /cgi-bin/hop.sh?n=N-1 while N is above 0', schema: {} });

/** HopPlugin's handler routes /hop/N to the CGI script hop.sh with N-1, which routes back to /hop/N-2: both kinds of internal redirect in one chain. */
@injectable()
class HopPlugin implements Plugin {
  readonly name = 'hop';
  readonly directives = [hop];
  create(): AnyUnit {
    return {
      handle: (ctx: Ctx) => {
        const n = Number(ctx.pathInMount.slice(1));
        if (n > 0) return ctx.redispatch(`/cgi-bin/hop.sh?n=${n - 1}`);
        return ctx.send(200, `landed in hop as ${ctx.method}\n`);
      },
    };
  }
}

describe('ctx.redispatch: one routing path and one limit for every internal redirect', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });
  beforeEach(async () => {
    gate = await startGate(
      `server {
      listen 127.0.0.1:0
      route /hop/ { hop }
      route /cgi-bin/ { cgi ${CGI_DIR} }
    }`,
      { file: CGI_FILE, plugins: [HopPlugin] },
    );
  });

  it('follows 10 internal redirects, handler and CGI local Location taking turns, as Nginx does', async () => {
    const res = await fetch(gate!.url('/hop/10'), { method: 'POST', body: 'x' });
    assert.deepEqual([res.status, await res.text()], [200, 'landed in hop as GET\n'], 'the CGI local redirects made it a GET');
    const odd = await fetch(gate!.url('/hop/9'));
    assert.deepEqual([odd.status, await odd.text()], [200, 'landed in cgi\n']);
  });

  it('stops the 11th with one 500 and one log line, whichever kind of redirect it is', async () => {
    for (const path of ['/hop/11', '/cgi-bin/hop.sh?n=11']) {
      const before = gate!.logs.length;
      const res = await fetch(gate!.url(path));
      assert.equal(res.status, 500, path);
      await res.text();
      const lines = gate!.logs.slice(before).filter((l) => /internal redirection cycle/.test(l));
      assert.equal(lines.length, 1, `${path}: ${gate!.logs.slice(before).join('\n')}`);
    }
  });
});
